import Foundation
import Testing

@testable import ConnectionManager

#if canImport(Glibc)
    import Glibc
#endif

/// The PostgreSQL servers the Postgres tests run against.
enum TestServer {
    static let passwordUser = "pooltop_pw"
    static let password = "correct horse"

    /// A shared server with trust authentication for `postgres` (tests must not stop it).
    static func sharedURL() throws -> DatabaseURL {
        try DatabaseURL("postgresql://postgres@127.0.0.1:55999/postgres")
    }

    /// The shared server, as a user that must give `password`.
    static func passwordUserURL(password: String) throws -> DatabaseURL {
        let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password
        return try DatabaseURL("postgresql://\(passwordUser):\(encoded)@127.0.0.1:55999/postgres")
    }

    /// A TCP port on 127.0.0.1 that nothing listens on.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Polls `pg_stat_activity` until backend `pid` has exited (5 s at most).
    static func waitUntilGone(pid: Int32, using connection: PostgresConnection) throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            let count = try connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [.int(Int(pid))])[row: 0].int(0)
            if count == 0 { return }
            usleep(5_000)
        }
        Issue.record("Backend \(pid) was still running 5 s after pg_terminate_backend.")
    }
}

/// A server of its own that a test may stop (SIGSTOP) and resume.
struct PausableServer {
    let url: DatabaseURL
    private let postmasterPID: pid_t

    fileprivate init(url: DatabaseURL, postmasterPID: pid_t) {
        self.url = url
        self.postmasterPID = postmasterPID
    }

    /// Stops the postmaster and every backend.
    func pause() throws {
        try signalAll(SIGSTOP)
    }

    func resume() throws {
        try signalAll(SIGCONT)
    }

    private func signalAll(_ signal: Int32) throws {
        let children =
            (try? String(contentsOfFile: "/proc/\(postmasterPID)/task/\(postmasterPID)/children", encoding: .utf8))
            ?? ""
        for pid in [postmasterPID] + children.split(separator: " ").compactMap({ pid_t($0) }) {
            kill(pid, signal)
        }
    }
}

extension TestServer {
    static func withPausableServer(_ body: (PausableServer) throws -> Void) throws {
        let pidFile = try String(contentsOfFile: "/tmp/pgdev2/postmaster.pid", encoding: .utf8)
        let pid = try #require(pid_t(pidFile.split(separator: "\n").first ?? ""))
        try body(
            PausableServer(url: try DatabaseURL("postgresql://postgres@127.0.0.1:55998/postgres"), postmasterPID: pid))
    }
}
