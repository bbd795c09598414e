import Foundation
import LocalCluster
import Logging
import Testing

@testable import ConnectionManager

#if canImport(Glibc)
    import Glibc
#endif

/// Helpers shared by the integration tests, which run the manager against real throwaway PostgreSQL servers.
enum Integration {
    /// A configuration with short intervals so that every integration test runs in seconds.
    ///
    /// Health checks every 200 ms, connect deadline 400 ms, 2 re-checks 200 ms apart, leaks after 1 s.
    static func configuration(
        _ url: String, failover: [String] = [], applicationName: String = "pooltop-itest"
    ) throws -> ConnectionPoolConfig {
        var config = ConnectionPoolConfig(databaseURL: try DatabaseURL(url))
        config.failoverURLs = try failover.map { try DatabaseURL($0, setting: "failover_urls") }
        config.failoverEnabled = !failover.isEmpty
        config.poolSize = 4
        config.maxOverflow = 0
        config.poolTimeout = .seconds(3)
        config.healthCheckInterval = .milliseconds(200)
        config.connectTimeout = .milliseconds(400)
        config.failoverRetryAttempts = 2
        config.failoverRetryDelay = .milliseconds(200)
        config.leakThreshold = .seconds(1)
        config.applicationName = applicationName
        return config
    }

    /// Polls `check` every 20 ms until it holds or `timeout` passes; returns its last value.
    @discardableResult
    static func eventually(timeout: Duration = .seconds(10), _ check: () throws -> Bool) rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try check() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return try check()
    }

    /// Backends whose `application_name` starts with `prefix`, as the server sees them (via psql).
    static func backends(of member: Member, applicationPrefix prefix: String) throws -> [String] {
        let rows = try member.psql(
            "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE '\(prefix)%' ORDER BY 1")
        return rows.split(separator: "\n").map(String.init)
    }

    /// A unique application name for one test, so tests sharing a server can tell their backends apart.
    static func applicationName(_ test: String) -> String {
        "itest-\(test)-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Errors only: failover tests make thousands of failed checkouts, each logged as a warning.
    static let quietLogger: Logger = {
        var logger = Logger(label: "pooltop.itest")
        logger.logLevel = .error
        return logger
    }()

    /// Whether the failover logic found no primary and decided to stay put (it says so once per outage).
    static func hasGivenUpOnPrimary(_ manager: ConnectionManager) -> Bool {
        manager.snapshot().failover.history.contains { $0.refusal?.contains("No reachable primary") ?? false }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// A TCP port on 127.0.0.1 that accepts connections into its backlog but never answers: a "hung server"
/// without SIGSTOP. Connects to it only end at the client's deadline.
final class BlackHoleListener {
    let port: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound && listen(fd, 64) == 0 else {
            _ = Glibc.close(fd)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        _ = Glibc.close(fd)
    }

    /// A TCP port nothing listens on (bound, read, released).
    static func closedPort() throws -> Int {
        let probe = try BlackHoleListener()
        let port = probe.port
        probe.close()
        return port
    }
}

/// A comment for `#expect` built with ordinary string interpolation.
func note(_ text: String) -> Comment { Comment(rawValue: text) }
