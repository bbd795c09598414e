import Foundation
import LocalCluster
import Testing

@testable import ConnectionManager

/// Leak detection on a real server: reports with stacks and the server's view, termination, returns,
/// expected-long sessions. Uses the process-wide shared primary (never broken here); each test has its own
/// manager and application name.
@Suite("Leak detection (integration)", .serialized)
struct LeakIntegrationTests {
    func makeManager(_ name: String, poolSize: Int = 1) throws -> (ConnectionManager, Member, String) {
        let cluster = try LocalCluster.shared()
        let app = Integration.applicationName(name)
        var config = try Integration.configuration(cluster.primary.url, applicationName: app)
        config.poolSize = poolSize
        config.maxOverflow = 0
        config.poolTimeout = .seconds(2)
        return (try ConnectionManager(configuration: config), cluster.primary, app)
    }

    @Test("A leaked session is reported with its stack and server view, and terminate(leak:) ends it")
    func leakedSessionIsReportedAndTerminated() throws {
        let (manager, server, _) = try makeManager("leak")
        defer { manager.shutdown() }

        let leaked = try manager.session()
        defer { leaked.close() }
        try leaked.execute("SELECT 42")
        let id = leaked.connectionID
        let pid = leaked.backendPID

        // Detected after the 1 s threshold (scans run every second), then the server's view is filled in.
        let found = Integration.eventually(timeout: .seconds(6)) {
            manager.detectConnectionLeaks().first?.server != nil
        }
        try #require(found, "leaks: \(manager.detectConnectionLeaks())")
        let report = try #require(manager.detectConnectionLeaks().first)
        #expect(manager.detectConnectionLeaks().count == 1)
        #expect(report.info.connectionID == id)
        #expect(report.info.backendPID == pid)
        #expect(report.heldFor >= 1)
        #expect(report.info.lastSQL == "SELECT 42")
        #expect(report.info.isExpectedLong == false)
        #expect(report.server?.pid == pid)
        #expect(report.server?.state == "idle in transaction")
        #expect(report.server?.query == "SELECT 42")
        #expect(report.server?.xactStart != nil)

        let frames = manager.checkoutStack(connectionID: id)
        #expect(
            frames.contains { $0.symbol.contains("leakedSessionIsReportedAndTerminated") },
            "stack: \(frames.prefix(12).map(\.symbol))")

        let snapshot = manager.snapshot()
        #expect(snapshot.leaks.map(\.info.connectionID) == [id])
        #expect(snapshot.totalLeaked == 1)
        #expect(snapshot.metrics.leakedConnections == 1)
        #expect(manager.metrics().leakedConnections == 1)
        let status = manager.healthStatus()
        #expect(status.leakDetection.totalLeaked == 1)
        #expect(status.leakDetection.leaks.first?.server?.state == "idle in transaction")
        #expect(status.poolMetrics.leakedConnections == 1)
        let json = String(decoding: try status.jsonData(), as: UTF8.self)
        #expect(json.contains("\"leaked_connections\" : 1") && json.contains("\"total_leaked\" : 1"), note("\(json)"))
        #expect(snapshot.events.contains { $0.kind == .leakDetected && $0.message.contains("Connection \(id)") })

        // End it on the server.
        let outcome = manager.terminate(leak: id)
        #expect(outcome.succeeded, note("\(outcome.message)"))
        let gone = try Integration.eventually(timeout: .seconds(5)) {
            try server.psql("SELECT count(*) FROM pg_stat_activity WHERE pid = \(pid)") == "0"
        }
        #expect(gone, note("backend \(pid) still runs after terminate(leak:)"))
        #expect(manager.detectConnectionLeaks().isEmpty)

        // The holder gets a clear error on its next use.
        #expect(throws: SessionError.terminatedAsLeak(connectionID: id)) { try leaked.execute("SELECT 1") }
        #expect(throws: SessionError.terminatedAsLeak(connectionID: id)) { try leaked.commit() }
        #expect(manager.metrics().checkedOut == 1)

        // Giving it back frees the only slot (pool size 1, no overflow): a new checkout works.
        leaked.close()
        #expect(manager.metrics().checkedOut == 0)
        let answer = try manager.withConnection { try $0.execute("SELECT 7")[row: 0].int(0) }
        #expect(answer == 7)
        #expect(manager.snapshot().totalLeaked == 1)
        // Terminated, not returned: it never shows up in the "returned after N s" list.
        // Wait for two more leak scans (each appends a utilization sample) before looking.
        let samples = manager.snapshot().utilizationHistory.count
        try #require(
            Integration.eventually(timeout: .seconds(4)) {
                manager.snapshot().utilizationHistory.count >= samples + 2
            })
        #expect(manager.snapshot().returnedLeaks.isEmpty)
        #expect(manager.snapshot().leaks.isEmpty)
        #expect(manager.snapshot().events.contains { $0.kind == .leakTerminated })
    }

    @Test("terminate(leak:) of a connection that is not checked out is refused")
    func terminateOfUnknownConnectionIsRefused() throws {
        let (manager, _, _) = try makeManager("terminate-unknown")
        defer { manager.shutdown() }
        let outcome = manager.terminate(leak: 987_654)
        #expect(!outcome.succeeded)
        #expect(outcome.message.contains("not checked out"))
    }

    @Test("A leak given back appears in the returned list with how long it was held")
    func returnedLeakIsListed() throws {
        let (manager, _, _) = try makeManager("returned")
        defer { manager.shutdown() }

        let session = try manager.session()
        try session.execute("SELECT 1")
        let id = session.connectionID
        try #require(Integration.eventually(timeout: .seconds(6)) { !manager.detectConnectionLeaks().isEmpty })
        try session.commit()
        session.close()

        try #require(Integration.eventually(timeout: .seconds(3)) { !manager.snapshot().returnedLeaks.isEmpty })
        let snapshot = manager.snapshot()
        let returned = try #require(snapshot.returnedLeaks.first)
        #expect(returned.info.connectionID == id)
        #expect(returned.heldFor >= 1 && returned.heldFor < 10)
        #expect(snapshot.leaks.isEmpty)
        #expect(snapshot.totalLeaked == 1)
        #expect(snapshot.metrics.leakedConnections == 0)
        #expect(manager.checkoutStack(connectionID: id).contains { $0.symbol.contains("returnedLeakIsListed") })
        #expect(snapshot.events.contains { $0.kind == .leakReturned })
    }

    @Test("A session marked expected-long raises no alarm while a plain one held as long does")
    func expectedLongSessionRaisesNoAlarm() throws {
        let (manager, _, _) = try makeManager("expected-long", poolSize: 3)
        defer { manager.shutdown() }

        let long = try manager.session(expectedLong: true)
        defer { long.close() }
        try long.execute("SELECT 1")
        let connection = try manager.session()
        defer { connection.close() }
        connection.markExpectedLong()
        let plain = try manager.session()
        defer { plain.close() }
        try plain.execute("SELECT 1")

        // The plain one was checked out last, so when it is reported the others were held longer.
        try #require(Integration.eventually(timeout: .seconds(6)) { !manager.detectConnectionLeaks().isEmpty })
        #expect(manager.detectConnectionLeaks().map(\.info.connectionID) == [plain.connectionID])
        #expect(manager.snapshot().totalLeaked == 1)
        #expect(manager.metrics().checkedOut == 3)
    }

    @Test("A leak held on the old primary after a failover is looked up and terminated on its own server")
    func leakOnOldTargetIsTerminatedOnItsOwnServer() throws {
        let cluster = try LocalCluster.start(.init(withStandby: true))
        defer { cluster.stop() }
        let standby = try #require(cluster.standby)
        var config = try Integration.configuration(
            cluster.primary.url, failover: [standby.url], applicationName: Integration.applicationName("old-target"))
        config.poolSize = 2
        let manager = try ConnectionManager(configuration: config)
        defer { manager.shutdown() }

        let leaked = try manager.session()
        defer { leaked.close() }
        try leaked.execute("SELECT 1")
        let pid = leaked.backendPID
        try standby.promote()
        let outcome = manager.failover(to: 1)
        try #require(outcome.succeeded, note(outcome.message))

        // The leak lives on the old primary: its server view and its termination must come from there.
        let found = Integration.eventually(timeout: .seconds(6)) {
            manager.detectConnectionLeaks().first?.server != nil
        }
        #expect(found, note("leaks: \(manager.detectConnectionLeaks())"))
        let report = try #require(manager.detectConnectionLeaks().first)
        #expect(report.info.backendPID == pid)
        #expect(report.info.target == (try DatabaseURL(cluster.primary.url).masked))
        #expect(report.server?.state == "idle in transaction")

        let terminated = manager.terminate(leak: leaked.connectionID)
        #expect(terminated.succeeded, note(terminated.message))
        let gone = try Integration.eventually(timeout: .seconds(5)) {
            try cluster.primary.psql("SELECT count(*) FROM pg_stat_activity WHERE pid = \(pid)") == "0"
        }
        #expect(gone, note("backend \(pid) still runs on the old primary: \(terminated.message)"))
        #expect(throws: SessionError.terminatedAsLeak(connectionID: leaked.connectionID)) {
            try leaked.execute("SELECT 1")
        }
    }
}
