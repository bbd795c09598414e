import ConnectionManager
import Foundation
import LocalCluster
import Synchronization
import Testing

extension EndToEndTests {
    /// Who blocks whom, seen by the real binary: a blocking chain made with libpq sessions of the test's own shows
    /// on the dashboard within 2 refreshes and `x` + `y` in the server view ends it; `pooltop status` exits 1 while
    /// sessions are blocked.
    @Suite("server view", .serialized)
    struct ServerViewTests {
        /// A session holding a row lock in an open transaction and `waiters` sessions queued behind it.
        final class Chain: Sendable {
            let blocker: PostgresConnection
            let waiters: [PostgresConnection]
            private let finished = Atomic<Int>(0)

            init(_ server: Member, table: String, waiters count: Int) throws {
                let url = try DatabaseURL(server.url)
                blocker = try PostgresConnection.connect(
                    to: url, deadline: .seconds(10), applicationName: "e2e-blocker")
                _ = try blocker.execute("BEGIN")
                _ = try blocker.execute("UPDATE \(table) SET v = v + 1 WHERE id = 1")
                waiters = try (0..<count).map { _ in
                    try PostgresConnection.connect(to: url, deadline: .seconds(10), applicationName: "e2e-waiter")
                }
                for waiter in waiters {
                    Thread.detachNewThread { [self] in
                        _ = try? waiter.execute("UPDATE \(table) SET v = v + 1 WHERE id = 1", timeout: .seconds(60))
                        finished.add(1, ordering: .relaxed)
                    }
                }
            }

            var finishedCount: Int { finished.load(ordering: .relaxed) }

            func close() {
                blocker.close()
                // A waiter still running gets its row now; close only after it finished.
                let deadline = ContinuousClock.now + .seconds(10)
                while finishedCount < waiters.count, ContinuousClock.now < deadline { usleep(20_000) }
                for waiter in waiters { waiter.close() }
            }
        }

        static func table(_ server: Member) throws -> String {
            let table = "e2e_block_\(UInt32.random(in: 0...UInt32.max))"
            try server.psql(
                "CREATE TABLE \(table) (id int PRIMARY KEY, v int NOT NULL); INSERT INTO \(table) VALUES (1, 0)")
            return table
        }

        /// Waits (server side) until `count` sessions wait for a lock behind the chain.
        static func waitUntilBlocked(_ server: Member, _ count: Int) throws {
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                let n = try server.psql(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'e2e-waiter' AND wait_event_type = 'Lock'"
                )
                if n == "\(count)" { return }
                usleep(20_000)
            }
            Issue.record("the waiters never blocked")
        }

        @Test(
            "a chain shows within 2 refreshes; Tab, Enter, x, y terminate its blocker and the chain ends",
            .timeLimit(.minutes(2)))
        func chainShowsAndTerminateEndsIt() throws {
            let cluster = try SharedCluster.get()
            let table = try Self.table(cluster.primary)
            let pane = try TmuxPane(
                width: 80, height: 24,
                command: [
                    try PooltopBinary.path(), "--url", cluster.primary.url, "--health-interval", "250ms", "--refresh",
                    "1s",
                ],
                environment: ["DB_BLOCKED_THRESHOLD": "2s"])
            defer { pane.kill() }
            try pane.waitFor("the Server panel, no lock waits") {
                $0.contains("Server ") && $0.contains("no lock waits")
            }

            let chain = try Chain(cluster.primary, table: table, waiters: 3)
            defer { chain.close() }
            try Self.waitUntilBlocked(cluster.primary, 3)
            let pid = chain.blocker.backendPID
            // One scan (1 s) plus one refresh (1 s) on a quiet machine; the deadline is generous because CI machines
            // are shared (timing is for benchmarks, not tests).
            let shown = try pane.waitFor("3 blocked by pid \(pid)", timeout: .seconds(10))
            #expect(shown.contains("3 blocked by pid \(pid)"))
            // Past the threshold: the header and the hints say so.
            let alarmed = try pane.waitFor("the header's BLOCKED flag and the hint", timeout: .seconds(5)) {
                $0.contains("3 BLOCKED") && $0.contains("3 sessions blocked for up to")
            }
            #expect(alarmed.split(separator: "\n").first?.contains("3 BLOCKED") == true)

            // Tab to the Server panel (focus starts on Leaks), Enter: the sessions, the blocker's row first.
            try pane.send("Tab")
            try pane.send("Enter")
            let view = try pane.waitFor("the server view with the chain as a tree", timeout: .seconds(5)) {
                $0.contains("WAITING FOR") && $0.contains("▶ \(pid)") && $0.contains("└") && $0.contains("e2e-blocker")
                    && $0.contains("e2e-waiter") && $0.contains("blocks 3")
            }
            #expect(view.contains("e2e-blocker") && view.contains("e2e-waiter"))
            #expect(view.contains("blocks 3"), "\(view)")
            try pane.send("x")
            let confirm = try pane.waitFor(
                "the confirmation naming pid, user, application and query", timeout: .seconds(5)
            ) {
                $0.contains("Terminate the session pid \(pid)")
            }
            #expect(confirm.contains("user postgres"), "\(confirm)")
            #expect(confirm.contains("application e2e-blocker"), "\(confirm)")
            #expect(confirm.contains("UPDATE \(table)"), "\(confirm)")
            try pane.send("y")
            try pane.waitFor("Terminated pid \(pid)", timeout: .seconds(10))
            #expect(Self.finishedEventually(chain, 3))
            #expect(throws: PostgresError.self) { try chain.blocker.execute("SELECT 1") }
            let after = try pane.waitFor("the chain gone from the server view", timeout: .seconds(5)) {
                $0.contains("no lock waits") && !$0.contains("BLOCKED")
            }
            // The blocker's row is gone (the status line above still names it).
            let rows = after.split(separator: "\n").filter { $0.hasPrefix("│") }
            #expect(!rows.contains { $0.contains("e2e-blocker") }, "\(after)")
        }

        @Test(
            "pooltop status exits 1 and says who blocks whom while sessions are blocked, 0 after",
            .timeLimit(.minutes(2)))
        func statusReportsBlockedSessions() throws {
            let cluster = try SharedCluster.get()
            let table = try Self.table(cluster.primary)
            let chain = try Chain(cluster.primary, table: table, waiters: 2)
            try Self.waitUntilBlocked(cluster.primary, 2)
            usleep(1_200_000)
            let blocked = try Subprocess.run(
                [try PooltopBinary.path(), "status", "--url", cluster.primary.url],
                environment: ["DB_BLOCKED_THRESHOLD": "1s", "SWIFT_BACKTRACE": "interactive=no"],
                removing: ["DATABASE_URL", "DATABASE_FAILOVER_URLS"], timeout: .seconds(60))
            #expect(blocked.exitCode == 1, "stdout: \(blocked.stdout) stderr: \(blocked.stderr)")
            #expect(blocked.stdout.contains("UNHEALTHY"), "\(blocked.stdout)")
            #expect(blocked.stdout.contains("2 sessions blocked for up to"), "\(blocked.stdout)")
            #expect(blocked.stdout.contains("by pid \(chain.blocker.backendPID)"), "\(blocked.stdout)")
            #expect(blocked.stdout.contains("the server itself answers"), "\(blocked.stdout)")
            let json = try Subprocess.run(
                [try PooltopBinary.path(), "status", "--json", "--url", cluster.primary.url],
                environment: ["DB_BLOCKED_THRESHOLD": "1s"], removing: ["DATABASE_URL", "DATABASE_FAILOVER_URLS"],
                timeout: .seconds(60))
            #expect(json.exitCode == 1)
            #expect(
                json.stdout.contains(#""server_answers" : true"#) && json.stdout.contains(#""blocked" : {"#),
                "\(json.stdout)")
            chain.close()
            let healthy = try Subprocess.run(
                [try PooltopBinary.path(), "status", "--url", cluster.primary.url],
                environment: ["DB_BLOCKED_THRESHOLD": "1s"], removing: ["DATABASE_URL", "DATABASE_FAILOVER_URLS"],
                timeout: .seconds(60))
            #expect(healthy.exitCode == 0, "\(healthy.stdout)")
            #expect(!healthy.stdout.contains("blocked"))
        }

        static func finishedEventually(_ chain: Chain, _ count: Int) -> Bool {
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                if chain.finishedCount == count { return true }
                usleep(20_000)
            }
            return false
        }
    }
}
