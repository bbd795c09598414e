import Foundation
import LocalCluster
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A primary + standby shared by the tests that do not change it (started once, stopped at exit).
/// It also has a role that needs a password, for the "password never shown" checks.
enum SharedCluster {
    static let user = "app_user"
    static let password = "Tr0ub4dor-s3cret"

    private static let cluster = Mutex<Result<LocalCluster, LocalClusterError>?>(nil)

    static func get() throws -> LocalCluster {
        try cluster.withLock { cached throws(LocalClusterError) -> LocalCluster in
            if cached == nil {
                do throws(LocalClusterError) {
                    cached = .success(
                        try LocalCluster.start(
                            .init(withStandby: true, passwordUser: .init(name: user, password: password))))
                } catch {
                    cached = .failure(error)
                }
            }
            return try cached!.get()
        }
    }
}

/// `host:port` as the dashboard shows a target.
func hostPort(_ member: Member) -> String { "127.0.0.1:\(member.port)" }

/// A TCP port on 127.0.0.1 that nothing listens on (bound, read, closed).
func closedPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Subprocess.Failure(description: "socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
        }
    }
    guard bound else { throw Subprocess.Failure(description: "bind: \(String(cString: strerror(errno)))") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
func isListening(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}

/// Processes whose command line contains `fragment` (e.g. a data directory), as (pid, command line).
func processes(commandLineContaining fragment: String) -> [(pid: Int32, commandLine: String)] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> (Int32, String)? in
        guard let pid = Int32(entry), pid != getpid(),
            let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !data.isEmpty
        else { return nil }
        let commandLine = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        return commandLine.contains(fragment) ? (pid, commandLine) : nil
    }
}

/// The data directory (`-D`) of the postgres server listening on `port`, read from its command line
/// (`pg_ctl` starts `postgres -D <dir> -p <port>`).
func dataDirectory(ofServerOnPort port: Int) -> String? {
    for (_, commandLine) in processes(commandLineContaining: "-p \(port)") {
        let words = commandLine.split(separator: " ").map(String.init)
        guard words.first?.hasSuffix("postgres") == true, let d = words.firstIndex(of: "-D"), d + 1 < words.count
        else { continue }
        return words[d + 1]
    }
    return nil
}

/// Every `127.0.0.1:<port>` on a screen, in order of appearance, without repeats.
func ports(on screen: String) -> [Int] {
    var found: [Int] = []
    var rest = Substring(screen)
    while let range = rest.range(of: "127.0.0.1:") {
        let digits = rest[range.upperBound...].prefix { $0.isNumber }
        if let port = Int(digits), !found.contains(port) { found.append(port) }
        rest = rest[range.upperBound...]
    }
    return found
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while !condition() {
        if clock.now >= deadline { return false }
        usleep(50_000)
    }
    return true
}

/// The Failover panel's row for `hostPort` (`│ * 127.0.0.1:5432  primary  ✓ OK`, `*` marking the current
/// target), not the header, a hint or the status line, which may name the same target.
func failoverRow(_ screen: String, _ hostPort: String) -> String? {
    screen.split(separator: "\n").dropFirst()
        .first { $0.contains("│ * \(hostPort)") || $0.contains("│   \(hostPort)") }.map(String.init)
}

/// Whether the Failover panel marks `hostPort` as the current target.
func isCurrentTarget(_ screen: String, _ hostPort: String) -> Bool {
    failoverRow(screen, hostPort)?.contains("│ * \(hostPort)") == true
}
