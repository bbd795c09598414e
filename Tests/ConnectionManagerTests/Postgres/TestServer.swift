import Foundation
import LocalCluster
import Synchronization
import Testing

@testable import ConnectionManager

#if canImport(Glibc)
    import Glibc
#endif

/// The PostgreSQL servers the Postgres tests run against, all from `LocalCluster`.
enum TestServer {
    static let passwordUser = "pooltop_pw"
    static let password = "correct horse"

    /// The process-wide shared cluster, superuser with trust authentication. Tests must not stop or pause it.
    static func sharedURL() throws -> DatabaseURL {
        try DatabaseURL(LocalCluster.shared().primary.url)
    }

    /// A private cluster (started once, never paused) where `passwordUser` must give `password`.
    static func passwordUserURL(password: String) throws -> DatabaseURL {
        let cluster = try passwordCluster.withLock { cached throws -> LocalCluster in
            if let cached { return cached }
            let started = try LocalCluster.start(
                .init(passwordUser: .init(name: passwordUser, password: Self.password)))
            cached = started
            return started
        }
        return try DatabaseURL(cluster.primary.url(user: passwordUser, password: password))
    }

    private static let passwordCluster = Mutex<LocalCluster?>(nil)

    /// Runs `body` with a private cluster it may pause; the cluster is stopped afterwards.
    static func withPausableServer(_ body: (PausableServer) throws -> Void) throws {
        let cluster = try LocalCluster.start()
        defer { cluster.stop() }
        try body(PausableServer(url: try DatabaseURL(cluster.primary.url), member: cluster.primary))
    }

    static func withPausableServer(_ body: (PausableServer) async throws -> Void) async throws {
        let cluster = try LocalCluster.start()
        defer { cluster.stop() }
        try await body(PausableServer(url: try DatabaseURL(cluster.primary.url), member: cluster.primary))
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

/// A server of a test's own that it may stop (SIGSTOP) and resume.
struct PausableServer {
    let url: DatabaseURL
    let member: Member

    /// Stops the postmaster and every backend.
    func pause() throws { try member.pause() }

    func resume() throws { member.resume() }
}
