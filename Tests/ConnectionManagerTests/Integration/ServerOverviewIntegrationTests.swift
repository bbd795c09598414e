import Foundation
import LocalCluster
import Synchronization
import Testing

@testable import ConnectionManager

/// The server overview on a real server: a leaked session holding a row lock, libpq sessions of the test's own
/// queued behind it; the snapshot shows blocker → blocked with the lock mode and the leak marked, the status is
/// unhealthy, cancel and terminate end it. Uses the shared primary; each test has its own table and names.
@Suite("Server overview (integration)", .serialized)
struct ServerOverviewIntegrationTests {
    /// Sessions of the test's own, each running one statement on a thread of its own (a blocked one blocks it).
    final class Waiters: Sendable {
        let connections: [PostgresConnection]
        private let results = Mutex<[Int32: Result<Void, PostgresError>]>([:])

        init(_ count: Int, url: String, application: String) throws {
            connections = try (0..<count).map { _ in
                try PostgresConnection.connect(
                    to: DatabaseURL(url), deadline: .seconds(10), applicationName: application)
            }
        }

        var pids: [Int32] { connections.map(\.backendPID) }

        /// Starts `sql` on every connection, each on its own thread.
        func start(_ sql: String) {
            for connection in connections {
                Thread.detachNewThread { [self] in
                    let result: Result<Void, PostgresError>
                    do {
                        _ = try connection.execute(sql, timeout: .seconds(60))
                        result = .success(())
                    } catch let error as PostgresError {
                        result = .failure(error)
                    } catch {
                        result = .failure(.connectionClosed)
                    }
                    results.withLock { $0[connection.backendPID] = result }
                }
            }
        }

        func result(_ pid: Int32) -> Result<Void, PostgresError>? { results.withLock { $0[pid] } }
        var finished: Int { results.withLock { $0.count } }

        func close() {
            for connection in connections { connection.close() }
        }
    }

    static func makeTable(_ server: Member) throws -> String {
        let table = "itest_block_\(UInt32.random(in: 0...UInt32.max))"
        try server.psql(
            "CREATE TABLE \(table) (id int PRIMARY KEY, v int NOT NULL); INSERT INTO \(table) VALUES (1, 0)")
        return table
    }

    @Test(
        "a leak holding a row lock: the chain, its mode and the leak mark in the snapshot; status unhealthy; cancel and terminate end it"
    )
    func leakBlocksWaiters() throws {
        let cluster = try LocalCluster.shared()
        let table = try Self.makeTable(cluster.primary)
        let app = Integration.applicationName("overview")
        var config = try Integration.configuration(cluster.primary.url, applicationName: app)
        config.poolSize = 1
        config.blockedThreshold = .seconds(1)
        let manager = try ConnectionManager(configuration: config)
        defer { manager.shutdown() }

        let leaked = try manager.session()
        defer { leaked.close() }
        try leaked.execute("UPDATE \(table) SET v = 100 WHERE id = 1")
        let blocker = leaked.backendPID
        let id = leaked.connectionID
        let waiters = try Waiters(3, url: cluster.primary.url, application: app + "-waiter")
        defer { waiters.close() }
        waiters.start("UPDATE \(table) SET v = v + 1 WHERE id = 1")

        // The chain shows within a few scans; the alarm once the waits pass 1 s and the leak once held past 1 s.
        let seen = Integration.eventually(timeout: .seconds(10)) {
            guard let server = manager.snapshot().server, let alarm = server.alarm else { return false }
            return alarm.count == 3 && server.session(pid: blocker)?.pool?.isLeak == true
        }
        let server = try #require(manager.snapshot().server)
        try #require(seen, note("server view: \(server)"))
        #expect(server.error == nil)
        let chain = try #require(server.chains.first)
        #expect(server.chains.count == 1)
        #expect(chain.root == blocker)
        #expect(Set(chain.nodes.map(\.pid)) == Set(waiters.pids))
        #expect(server.sessions.first?.pid == blocker, "the tree starts with its root")
        let root = try #require(server.session(pid: blocker))
        #expect(root.pool == PoolMark(connectionID: id, isCheckedOut: true, isLeak: true))
        #expect(root.state == "idle in transaction")
        #expect(root.query == "UPDATE \(table) SET v = 100 WHERE id = 1")
        #expect((root.transactionAge ?? 0) >= 1)
        // The first waiter waits for the blocker's transaction; the others queue for the row behind it.
        let locks = waiters.pids.compactMap { server.session(pid: $0)?.waitingFor }
        #expect(locks.count == 3)
        #expect(locks.contains { $0.lockType == "transactionid" && $0.mode == "ShareLock" }, note("\(locks)"))
        #expect(waiters.pids.allSatisfy { server.session(pid: $0)?.pool == nil })
        #expect(waiters.pids.allSatisfy { (server.session(pid: $0)?.blockedFor ?? 0) >= 1 })
        #expect(server.applications.contains(NameCount(name: app + "-waiter", count: 3)))
        #expect(server.idleInTransaction.count >= 1)
        let alarm = try #require(server.alarm)
        #expect(alarm.blockers == [blocker])
        #expect(alarm.summary.hasPrefix("3 sessions blocked for up to "), note(alarm.summary))
        #expect(alarm.summary.hasSuffix("by pid \(blocker) (your leak #\(id))"), note(alarm.summary))
        // What the leak ledger knows comes from the same fetch, applied when it returns (`activityFetched`): CI's
        // full suite once read the ledger first, with the snapshot already marking the leak.
        let ledgerSeesIt = Integration.eventually(timeout: .seconds(10)) {
            manager.detectConnectionLeaks().first?.server?.state == "idle in transaction"
        }
        #expect(ledgerSeesIt, "\(manager.detectConnectionLeaks())")

        // The status is not healthy while clients are stuck, and says why.
        let status = manager.healthStatus()
        #expect(status.healthy == false)
        #expect(status.serverAnswers == true)
        #expect(status.blocked?.count == 3)
        #expect(status.summary.contains("UNHEALTHY"))
        #expect(status.summary.contains("3 sessions blocked"), note(status.summary))
        let json = String(decoding: try status.jsonData(), as: UTF8.self)
        #expect(json.contains(#""healthy" : false"#) && json.contains(#""server_answers" : true"#), note(json))

        // The snapshot carries it over the control socket's JSON.
        let encoded = try ControlJSON.encoder().encode(manager.snapshot())
        let decoded = try ControlJSON.decoder().decode(ManagerSnapshot.self, from: encoded)
        #expect(decoded.server?.chains.first?.root == blocker)

        // Cancel one waiter: its statement fails with 57014, the session stays.
        let cancelled = waiters.pids[2]
        let outcome = manager.perform(.cancelBackend(pid: cancelled))
        #expect(outcome.succeeded, note(outcome.message))
        #expect(outcome.message.contains("pid \(cancelled)"), note(outcome.message))
        let failed = Integration.eventually(timeout: .seconds(5)) { waiters.result(cancelled) != nil }
        #expect(failed)
        if case .failure(let error) = waiters.result(cancelled) {
            #expect(error.sqlState == "57014", note("\(error)"))
        } else {
            Issue.record("the cancelled statement did not fail: \(String(describing: waiters.result(cancelled)))")
        }

        // Terminate the blocker (the leak): the others get their row.
        let ended = manager.perform(.terminateBackend(pid: blocker))
        #expect(ended.succeeded, note(ended.message))
        #expect(Integration.eventually(timeout: .seconds(5)) { waiters.finished == 3 })
        for pid in waiters.pids.prefix(2) {
            if case .failure(let error) = waiters.result(pid) { Issue.record("waiter \(pid) failed: \(error)") }
        }
        let cleared = Integration.eventually(timeout: .seconds(5)) {
            manager.snapshot().server.map { $0.chains.isEmpty && $0.alarm == nil } ?? false
        }
        #expect(cleared, note("\(String(describing: manager.snapshot().server))"))
        #expect(manager.healthStatus().healthy)
        #expect(throws: SessionError.terminatedAsLeak(connectionID: id)) { try leaked.execute("SELECT 1") }
    }

    @Test("terminate of another user's session is refused with the server's reason; a gone pid says so")
    func refusedWithoutTheRight() throws {
        let cluster = try LocalCluster.shared()
        let role = "itest_plain_\(UInt32.random(in: 0...UInt32.max))"
        try cluster.primary.psql("CREATE ROLE \(role) LOGIN")
        let app = Integration.applicationName("refused")
        var config = try Integration.configuration(
            cluster.primary.url(user: role, password: nil), applicationName: app)
        config.poolSize = 1
        let manager = try ConnectionManager(configuration: config)
        defer { manager.shutdown() }
        let superuser = try PostgresConnection.connect(to: DatabaseURL(cluster.primary.url), deadline: .seconds(10))
        defer { superuser.close() }

        let outcome = manager.perform(.terminateBackend(pid: superuser.backendPID))
        #expect(!outcome.succeeded)
        #expect(
            outcome.message.contains("The server refused to terminate pid \(superuser.backendPID)"),
            note(outcome.message))
        // The server's own words (PostgreSQL 15: "must be a superuser to terminate superuser process"; 16+:
        // "permission denied to terminate process").
        #expect(
            outcome.message.contains("must be a superuser") || outcome.message.contains("permission denied"),
            note(outcome.message))
        #expect(try superuser.execute("SELECT 1")[row: 0].int(0) == 1, "the session is still there")
        let cancel = manager.perform(.cancelBackend(pid: superuser.backendPID))
        #expect(!cancel.succeeded)
        #expect(
            cancel.message.contains("must be a superuser") || cancel.message.contains("permission denied"),
            note(cancel.message))

        // A pid that is no server process: false from the server, said as such.
        let gone = manager.perform(.terminateBackend(pid: 999_999))
        #expect(!gone.succeeded)
        #expect(gone.message.contains("not a session"), note(gone.message))
    }
}
