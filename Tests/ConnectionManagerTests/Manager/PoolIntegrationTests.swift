import Foundation
import LocalCluster
import Synchronization
import Testing

@testable import ConnectionManager

/// The manager's pool on a real server: sizing, laziness, waiting, order, recycling, pre-ping, resets,
/// suspension, eviction and tracking — checked from the server's side (`pg_stat_activity`) and the metrics.
@Suite("Pool on a real server")
struct PoolIntegrationTests {
    let server: ServerView

    init() throws {
        server = try ServerView(try ManagerTests.sharedCluster().primary.url)
    }

    // MARK: Sizing

    @Test func overflowConnectionsCloseWhenGivenBackAbovePoolSize() throws {
        let manager = try ManagerTests.manager("overflow") {
            $0.poolSize = 2
            $0.maxOverflow = 2
            $0.overflowIdleTimeout = .zero
        }
        defer { manager.shutdown() }
        let app = manager.configuration.effectiveApplicationName
        let held = try (0..<4).map { _ in try manager.checkOut() }
        #expect(Set(held.map(\.backendPID)).count == 4)
        var m = manager.metrics()
        #expect(m.checkedOut == 4)
        #expect(m.checkedIn == 0)
        #expect(m.overflow == 2)
        #expect(m.connectionsCreated == 4)
        #expect(m.utilization == 2.0)
        #expect(try server.backendCount(applicationName: app) == 4)

        // Saturated: the fifth waits poolTimeout and fails with the pool's state, not a connect error.
        let error = try #require(throws: PoolError.self) { _ = try manager.checkOut() }
        let saturated = try #require(error.timedOutMetrics, "expected timedOut, got \(error)")
        #expect(saturated.checkedOut == 4)
        #expect(saturated.overflow == 2)
        #expect(saturated.timeouts == 1)
        #expect("\(error)".contains("saturated"))

        for connection in held { connection.close() }
        m = manager.metrics()
        #expect(m.checkedOut == 0)
        #expect(m.checkedIn == 2)
        #expect(m.overflow == 0)
        #expect(m.connectionsClosed == 2)
        #expect(m.totalCheckouts == 4)
        #expect(m.totalCheckins == 4)
        #expect(m.timeouts == 1)
        #expect(m.connectFailures == 0)
        #expect(try server.settledBackendCount(applicationName: app, expected: 2) == 2)
    }

    @Test func poolIsLazyByDefault() throws {
        let manager = try ManagerTests.manager("lazy") { $0.poolSize = 3 }
        defer { manager.shutdown() }
        let app = manager.configuration.effectiveApplicationName
        #expect(manager.metrics().connectionsCreated == 0)
        #expect(try server.backendCount(applicationName: app) == 0)
        try manager.withConnection { _ in }
        #expect(manager.metrics().connectionsCreated == 1)
        #expect(try server.backendCount(applicationName: app) == 1)
    }

    @Test func prefillOpensPoolSizeAtStart() throws {
        let manager = try ManagerTests.manager("prefill") {
            $0.poolSize = 3
            $0.prefill = true
        }
        defer { manager.shutdown() }
        let m = manager.metrics()
        #expect(m.connectionsCreated == 3)
        #expect(m.checkedIn == 3)
        #expect(m.checkedOut == 0)
        #expect(try server.backendCount(applicationName: manager.configuration.effectiveApplicationName) == 3)
    }

    @Test func unreachableServerIsAConnectFailureNotATimeout() throws {
        let port = try TestServer.closedPort()
        let manager = try ManagerTests.manager("unreachable", url: "postgresql://postgres@127.0.0.1:\(port)/postgres")
        defer { manager.shutdown() }
        let error = try #require(throws: PoolError.self) { _ = try manager.checkOut() }
        let underlying = try #require(error.connectError as? PostgresError, "expected connectFailed, got \(error)")
        guard case .connectFailed = underlying else {
            Issue.record("expected PostgresError.connectFailed, got \(underlying)")
            return
        }
        let m = manager.metrics()
        // Retried with backoff within the 300 ms pool timeout: a few attempts, then the last error.
        #expect(m.connectFailures >= 1 && m.connectFailures <= 5)
        #expect(m.timeouts == 0)
        #expect(m.checkedOut == 0)
        #expect(m.connectionsCreated == 0)
        #expect(manager.snapshot().events.contains { $0.kind == .connectFailed })
    }

    // MARK: Order and replacement

    @Test func mostRecentlyReturnedConnectionIsLentNext() throws {
        let manager = try ManagerTests.manager("lifo") { $0.poolSize = 3 }
        defer { manager.shutdown() }
        let held = try (0..<3).map { _ in try manager.checkOut() }
        let pids = held.map(\.backendPID)
        held[0].close()
        held[2].close()
        held[1].close()
        let first = try manager.checkOut()
        #expect(first.backendPID == pids[1])
        let second = try manager.checkOut()
        #expect(second.backendPID == pids[2])
        second.close()
        let third = try manager.checkOut()
        #expect(third.backendPID == pids[2])
        third.close()
        first.close()
        #expect(manager.metrics().connectionsCreated == 3)
    }

    @Test func recycleReplacesAConnectionOlderThanPoolRecycle() throws {
        let manager = try ManagerTests.manager("recycle") {
            $0.poolSize = 1
            $0.poolRecycle = .milliseconds(200)
        }
        defer { manager.shutdown() }
        let app = manager.configuration.effectiveApplicationName
        let oldPID = try manager.withConnection { $0.backendPID }
        // Still young: the same backend.
        let young = try manager.withConnection { $0.backendPID }
        if manager.metrics().invalidations == 0 { #expect(young == oldPID) }
        usleep(250_000)  // let the connection age past poolRecycle
        let newPID = try manager.withConnection { connection throws in
            #expect(try connection.execute("SELECT 1")[row: 0].int(0) == 1)
            return connection.backendPID
        }
        #expect(newPID != oldPID)
        #expect(manager.metrics().invalidations >= 1)
        #expect(try server.settledBackendCount(applicationName: app, expected: 1) == 1)
        #expect(try server.backendPIDs(applicationName: app) == [newPID])
    }

    @Test func prePingReplacesConnectionsTerminatedOnTheServer() throws {
        let manager = try ManagerTests.manager("preping") {
            $0.poolSize = 2
            $0.poolPrePing = true
            $0.prePingAfterIdle = .zero
        }
        defer { manager.shutdown() }
        let held = try (0..<2).map { _ in try manager.checkOut() }
        let oldPIDs = held.map(\.backendPID)
        for connection in held { connection.close() }
        try server.terminate(oldPIDs)

        let again = try (0..<2).map { _ in try manager.checkOut() }
        defer { for connection in again { connection.close() } }
        for connection in again {
            #expect(try connection.execute("SELECT 1")[row: 0].int(0) == 1)
            #expect(!oldPIDs.contains(connection.backendPID))
        }
        let m = manager.metrics()
        #expect(m.invalidations == 2)
        #expect(m.connectionsCreated == 4)
        #expect(m.totalCheckouts == 4)
    }

    @Test func withoutPrePingATerminatedConnectionIsLentAndFails() throws {
        let manager = try ManagerTests.manager("nopreping") {
            $0.poolSize = 1
            $0.poolPrePing = false
        }
        defer { manager.shutdown() }
        let oldPID = try manager.withConnection { $0.backendPID }
        try server.terminate([oldPID])
        let error = try #require(throws: PostgresError.self) {
            try manager.withConnection { connection throws in
                #expect(connection.backendPID == oldPID)
                try connection.execute("SELECT 1")
            }
        }
        #expect(error.isConnectionLevel)
        // The broken connection was not put back: the next checkout works on a new backend.
        let newPID = try manager.withConnection { connection throws in
            #expect(try connection.execute("SELECT 1")[row: 0].int(0) == 1)
            return connection.backendPID
        }
        #expect(newPID != oldPID)
    }

    // MARK: Checkin

    @Test func transactionLeftOpenIsRolledBackOnCheckin() throws {
        let table = "it_rollback_\(UInt32.random(in: 0...UInt32.max))"
        try server.execute("CREATE TABLE \(table) (id int)")
        defer { _ = try? server.execute("DROP TABLE \(table)") }
        let manager = try ManagerTests.manager("rollback") { $0.poolSize = 1 }
        defer { manager.shutdown() }
        let pid = try manager.withConnection { connection throws in
            try connection.execute("BEGIN")
            try connection.execute("INSERT INTO \(table) VALUES (1)")
            #expect(connection.connection.transactionStatus == .inTransaction)
            return connection.backendPID
        }
        try manager.withConnection { connection throws in
            #expect(connection.backendPID == pid)
            #expect(connection.connection.transactionStatus == .idle)
            #expect(try connection.execute("SELECT count(*) FROM \(table)")[row: 0].int(0) == 0)
        }
        // A failed transaction (in error) is rolled back too.
        try manager.withConnection { connection throws in
            try connection.execute("BEGIN")
            #expect(throws: PostgresError.self) { try connection.execute("SELECT 1/0") }
            #expect(connection.connection.transactionStatus == .inError)
        }
        try manager.withConnection { connection throws in
            #expect(connection.backendPID == pid)
            #expect(connection.connection.transactionStatus == .idle)
            #expect(try connection.execute("SELECT 1")[row: 0].int(0) == 1)
        }
        #expect(try server.execute("SELECT count(*) FROM \(table)")[row: 0].int(0) == 0)
    }

    @Test func brokenConnectionIsNotReused() throws {
        let manager = try ManagerTests.manager("broken") {
            $0.poolSize = 1
            $0.poolPrePing = false
        }
        defer { manager.shutdown() }
        let app = manager.configuration.effectiveApplicationName
        let oldPID = try manager.withConnection { connection throws in
            #expect(throws: PostgresError.self) {
                try connection.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            }
            #expect(connection.connection.isBroken)
            return connection.backendPID
        }
        var m = manager.metrics()
        #expect(m.checkedIn == 0)
        #expect(m.connectionsClosed == 1)
        #expect(m.invalidations == 1)
        let newPID = try manager.withConnection { connection throws in
            #expect(try connection.execute("SELECT 1")[row: 0].int(0) == 1)
            return connection.backendPID
        }
        #expect(newPID != oldPID)
        m = manager.metrics()
        #expect(m.connectionsCreated == 2)
        #expect(try server.settledBackendCount(applicationName: app, expected: 1) == 1)
    }

    // MARK: Administration

    @Test func suspendedPoolMakesCheckoutsWaitUntilResumed() throws {
        let manager = try ManagerTests.manager("suspend") {
            $0.poolSize = 1
            $0.poolTimeout = .seconds(30)
        }
        defer { manager.shutdown() }
        try manager.withConnection { _ in }
        manager.suspend()
        #expect(manager.metrics().isSuspended)
        let done = DispatchSemaphore(value: 0)
        let result = Locked<Result<Int, any Error>?>(nil)
        Thread.detachNewThread {
            let outcome = Result { try manager.withConnection { try $0.execute("SELECT 7")[row: 0].int(0) ?? -1 } }
            result.set(outcome)
            done.signal()
        }
        #expect(ManagerTests.eventually { manager.metrics().waiting == 1 })
        #expect(result.value == nil)
        #expect(manager.metrics().totalCheckouts == 1)
        manager.resume()
        #expect(done.wait(timeout: .now() + 20) == .success)
        #expect(try result.value?.get() == 7)
        let m = manager.metrics()
        #expect(!m.isSuspended)
        #expect(m.waiting == 0)
        #expect(m.totalCheckouts == 2)
        #expect(m.timeouts == 0)
        #expect(manager.snapshot().events.map(\.kind).contains(.suspended))
        #expect(manager.snapshot().events.map(\.kind).contains(.resumed))
    }

    @Test func suspendedPoolWaiterTimesOutAtPoolTimeout() throws {
        let manager = try ManagerTests.manager("suspendtimeout") { $0.poolSize = 1 }
        defer { manager.shutdown() }
        try manager.withConnection { _ in }
        manager.suspend()
        let error = try #require(throws: PoolError.self) { _ = try manager.checkOut() }
        let metrics = try #require(error.timedOutMetrics, "expected timedOut, got \(error)")
        #expect(metrics.isSuspended)
        #expect(metrics.checkedIn == 1)
        #expect(manager.metrics().timeouts == 1)
        #expect(manager.metrics().waiting == 0)
        manager.resume()
        #expect(try manager.withConnection { try $0.execute("SELECT 1")[row: 0].int(0) } == 1)
    }

    @Test func evictIdleClosesIdleNowAndBusyOnReturn() throws {
        let manager = try ManagerTests.manager("evict") { $0.poolSize = 3 }
        defer { manager.shutdown() }
        let app = manager.configuration.effectiveApplicationName
        let held = try (0..<3).map { _ in try manager.checkOut() }
        let pids = held.map(\.backendPID)
        held[0].close()
        held[1].close()
        #expect(manager.metrics().checkedIn == 2)

        manager.evictIdle()
        var m = manager.metrics()
        #expect(m.checkedIn == 0)
        #expect(m.checkedOut == 1)
        #expect(m.connectionsClosed == 2)
        #expect(try server.settledBackendCount(applicationName: app, expected: 1) == 1)
        #expect(try server.backendPIDs(applicationName: app) == [pids[2]])
        // The busy one still works until it is given back, then it is closed.
        #expect(try held[2].execute("SELECT 1")[row: 0].int(0) == 1)
        held[2].close()
        m = manager.metrics()
        #expect(m.checkedIn == 0)
        #expect(m.connectionsClosed == 3)
        #expect(try server.settledBackendCount(applicationName: app, expected: 0) == 0)
        let fresh = try manager.withConnection { $0.backendPID }
        #expect(!pids.contains(fresh))
    }

    @Test func checkedOutConnectionsAreTracked() throws {
        let manager = try ManagerTests.manager("tracking") { $0.poolSize = 2 }
        defer { manager.shutdown() }
        let before = Date()
        let observed = ManagerTests.onThread(named: "itest-tracker") { () -> String? in
            do {
                return try manager.withConnection { connection throws in
                    try connection.execute("SELECT 'tracked'")
                    let records = manager.pool.checkedOutConnections()
                    guard records.count == 1, let record = records.first else { return "records: \(records)" }
                    var problems: [String] = []
                    if record.connectionID != connection.connectionID { problems.append("id \(record.connectionID)") }
                    if record.backendPID != connection.backendPID { problems.append("pid \(record.backendPID)") }
                    if record.threadName != "itest-tracker" { problems.append("thread \(record.threadName)") }
                    if record.checkedOutAt < before.addingTimeInterval(-1) || record.checkedOutAt > Date() {
                        problems.append("since \(record.checkedOutAt)")
                    }
                    if record.lastSQL != "SELECT 'tracked'" { problems.append("sql \(record.lastSQL ?? "nil")") }
                    let snapshot = manager.snapshot()
                    if snapshot.activeConnections != 1 { problems.append("active \(snapshot.activeConnections)") }
                    return problems.isEmpty ? nil : problems.joined(separator: ", ")
                }
            } catch {
                return "\(error)"
            }
        }
        let problems = try #require(observed, "the worker thread did not finish")
        #expect(problems == nil)
        #expect(manager.pool.checkedOutConnections().isEmpty)
        #expect(manager.snapshot().activeConnections == 0)
    }
}

/// Restart of the server under a pool: needs a cluster of its own.
@Suite("Pool across a server restart", .serialized)
struct PoolRestartTests {
    @Test func restartInvalidatesEveryConnectionOpenedBefore() throws {
        let cluster = try LocalCluster.start()
        defer { cluster.stop() }
        let manager = try ManagerTests.manager("restart", url: cluster.primary.url) {
            $0.poolSize = 3
            $0.prefill = true
            $0.prePingAfterIdle = .zero
        }
        defer { manager.shutdown() }
        let restarts = CallCounter()
        manager.addListener(.init(onServerRestart: { _ in restarts.hit("restart") }))
        let before = manager.metrics()
        #expect(before.checkedIn == 3)
        #expect(before.generation == 0)
        let oldPIDs = try (0..<3).map { _ in try manager.checkOut() }.map { connection in
            defer { connection.close() }
            return connection.backendPID
        }

        try cluster.primary.restart()

        let again = try (0..<3).map { _ in try manager.checkOut() }
        defer { for connection in again { connection.close() } }
        for connection in again {
            #expect(try connection.execute("SELECT 1")[row: 0].int(0) == 1)
            #expect(!oldPIDs.contains(connection.backendPID))
        }
        let m = manager.metrics()
        #expect(m.generation == 1)
        #expect(m.invalidations == 3)
        #expect(m.connectionsCreated == 6)
        #expect(m.connectFailures == 0)
        #expect(restarts["restart"] == 1)
    }
}
