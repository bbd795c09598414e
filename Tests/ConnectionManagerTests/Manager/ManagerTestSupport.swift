import Foundation
import LocalCluster
import Synchronization
import Testing

@testable import ConnectionManager

/// Shared plumbing of the manager's integration tests: managers on a real throwaway PostgreSQL, and a
/// connection of the test's own to look at the server side (`pg_stat_activity`).
enum ManagerTests {
    /// The cluster shared by every test that does not break its server.
    static func sharedCluster() throws -> LocalCluster {
        try LocalCluster.shared()
    }

    /// An `application_name` no other test uses, so `pg_stat_activity` counts don't interfere.
    static func applicationName(_ test: String) -> String {
        "it-\(test)-\(UUID().uuidString.prefix(8))"
    }

    /// A configuration for `url` with short timeouts and no background health checks.
    static func configuration(
        _ url: String, applicationName: String, _ adjust: (inout ConnectionPoolConfig) -> Void = { _ in }
    ) throws -> ConnectionPoolConfig {
        var config = ConnectionPoolConfig(databaseURL: try DatabaseURL(url))
        config.applicationName = applicationName
        config.poolTimeout = .milliseconds(300)
        config.connectTimeout = .seconds(5)
        config.healthCheckEnabled = false
        adjust(&config)
        return config
    }

    /// A manager on `url` (default: the shared cluster's primary); call `shutdown()` in a `defer`.
    static func manager(
        _ test: String, url: String? = nil, _ adjust: (inout ConnectionPoolConfig) -> Void = { _ in }
    ) throws -> ConnectionManager {
        let url = try url ?? sharedCluster().primary.url
        return try ConnectionManager(
            configuration: configuration(url, applicationName: applicationName(test), adjust))
    }

    /// Polls `condition` every 10 ms until it holds or `timeout` passes; returns its last value.
    @discardableResult
    static func eventually(timeout: Duration = .seconds(10), _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            if try condition() { return true }
            if ContinuousClock.now >= deadline { return false }
            usleep(10_000)
        }
    }

    /// Runs `body` on a new thread named `name` and waits for it (at most `timeout`, so that a deadlock fails
    /// the test instead of hanging the run). Returns nil when it did not finish in time.
    static func onThread<T: Sendable>(
        named name: String = "itest-worker", timeout: Duration = .seconds(60), _ body: @escaping @Sendable () -> T
    ) -> T? {
        let result = Locked<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            nameThisThread(name)
            let value = body()
            result.set(value)
            done.signal()
        }
        thread.start()
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        guard done.wait(timeout: .now() + seconds) == .success else { return nil }
        return result.value
    }
}

/// Names the calling thread for the kernel, where the pool reads it: on Linux, Foundation's `Thread.name`
/// never reaches the kernel (nor `Thread.current.name` in other code). At most 15 bytes are kept.
func nameThisThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count) }
}

/// A connection of the test's own to a server, for looking at what the pool did from the server's side.
final class ServerView {
    let connection: PostgresConnection

    init(_ url: String) throws {
        connection = try PostgresConnection.connect(to: DatabaseURL(url), deadline: .seconds(10))
    }

    deinit { connection.close() }

    /// Client backends with this `application_name`.
    func backendCount(applicationName: String) throws -> Int {
        try connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", [.text(applicationName)]
        )[row: 0].int(0) ?? -1
    }

    /// Backend pids with this `application_name`.
    func backendPIDs(applicationName: String) throws -> Set<Int32> {
        let result = try connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1", [.text(applicationName)])
        return Set(try result.rows.map { Int32(try $0.int(0) ?? -1) })
    }

    /// Polls until exactly `expected` backends carry `applicationName` (backends exit asynchronously after a
    /// close); returns the last count seen.
    func settledBackendCount(applicationName: String, expected: Int) throws -> Int {
        var count = -1
        try ManagerTests.eventually {
            count = try backendCount(applicationName: applicationName)
            return count == expected
        }
        return count
    }

    /// Ends the backends on the server and waits until they are gone.
    func terminate(_ pids: [Int32]) throws {
        for pid in pids {
            _ = try connection.execute("SELECT pg_terminate_backend($1)", [.int(Int(pid))])
        }
        let gone = try ManagerTests.eventually {
            try connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])",
                [.text("{" + pids.map(String.init).joined(separator: ",") + "}")]
            )[row: 0].int(0) == 0
        }
        #expect(gone, "backends \(pids) still running after pg_terminate_backend")
    }

    @discardableResult
    func execute(_ sql: String, _ parameters: [PostgresValue] = []) throws -> QueryResult {
        try connection.execute(sql, parameters, timeout: .seconds(10))
    }
}

/// A value shared between threads (a `Mutex` cannot be captured by an escaping closure).
final class Locked<T: Sendable>: Sendable {
    private let mutex: Mutex<T>

    init(_ value: T) { mutex = Mutex(value) }

    var value: T { mutex.withLock { $0 } }
    func set(_ value: T) { mutex.withLock { $0 = value } }
    func update<R>(_ body: (inout T) -> R) -> R { mutex.withLock { body(&$0) } }
}

/// Counts listener callbacks (thread-safe).
final class CallCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    func hit(_ name: String) { counts.withLock { $0[name, default: 0] += 1 } }
    subscript(_ name: String) -> Int { counts.withLock { $0[name, default: 0] } }
}

struct ExpectedFailure: Error, Equatable {}

extension ConnectionManager {
    /// A connection held until `close()`, for tests that must hold several at once.
    func checkOut() throws -> PooledConnection {
        PooledConnection(lease: try checkoutLease(expectedLong: false), manager: self)
    }
}

extension PoolError {
    /// The metrics of a `.timedOut`, nil for other cases.
    var timedOutMetrics: PoolMetrics? {
        if case .timedOut(_, let metrics) = self { return metrics }
        return nil
    }

    /// The underlying error of a `.connectFailed`, or the last connect error of a `.connectBackoff`; nil otherwise.
    var connectError: (any Error)? {
        if case .connectFailed(let underlying) = self { return underlying }
        if case .connectBackoff(let lastError, _) = self { return lastError }
        return nil
    }
}
