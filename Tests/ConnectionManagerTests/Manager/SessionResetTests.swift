import Foundation
import LocalCluster
import Testing

@testable import ConnectionManager

/// Session state one borrower leaves behind must not reach the next borrower of the same connection (issue 9,
/// finding 2). A pool of one connection and no overflow, so the next borrower gets the same backend (asserted).
@Suite("SessionReset")
struct SessionResetTests {
    /// One kind of session state: statements that change it, and a query whose answer shows it.
    struct Kind: Sendable, CustomTestStringConvertible {
        let name: String
        let change: [String]
        let show: String
        var testDescription: String { name }
    }

    static let role = "pooltop_reset_role"

    static let kinds: [Kind] = [
        .init(name: "SET ROLE", change: ["SET ROLE \(role)"], show: "SELECT current_user::text"),
        .init(
            name: "SET SESSION AUTHORIZATION", change: ["SET SESSION AUTHORIZATION \(role)"],
            show: "SELECT session_user::text || '/' || current_user::text"),
        .init(name: "search_path", change: ["SET search_path = pg_catalog"], show: "SHOW search_path"),
        .init(
            name: "search_path by set_config", change: ["SELECT set_config('search_path', 'pg_catalog', false)"],
            show: "SHOW search_path"),
        .init(
            name: "statement_timeout", change: ["SET statement_timeout = 1"],
            show: "SELECT pg_sleep(0.05)::text || current_setting('statement_timeout')"),
        .init(
            name: "default_transaction_read_only", change: ["SET default_transaction_read_only = on"],
            show: "SHOW transaction_read_only"),
        .init(name: "TimeZone", change: ["SET TimeZone = 'Asia/Tokyo'"], show: "SHOW TimeZone"),
        .init(name: "TimeZone inside a function", change: ["SELECT pooltop_hidden_tz()"], show: "SHOW TimeZone"),
        .init(
            name: "application_name", change: ["SET application_name = 'someone-else'"], show: "SHOW application_name"),
        .init(
            name: "prepared statement", change: ["PREPARE pooltop_reset_p AS SELECT 1"],
            show: "SELECT count(*)::text FROM pg_prepared_statements"),
        .init(
            name: "temp table", change: ["CREATE TEMP TABLE pooltop_reset_t (id int)"],
            show: "SELECT coalesce(to_regclass('pg_temp.pooltop_reset_t')::text, 'none')"),
        .init(
            name: "advisory lock", change: ["SELECT pg_advisory_lock(4242)"],
            show:
                "SELECT count(*)::text FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 "
                + "AND pid = pg_backend_pid()"),
        .init(
            name: "LISTEN", change: ["LISTEN pooltop_reset_channel"],
            show: "SELECT count(*)::text FROM pg_listening_channels()"),
    ]

    /// The role and functions the kinds need, created once per process (parallel DDL on one name would fail).
    static let prepared: Result<Void, any Error> = Result {
        let server = try ServerView(try ManagerTests.sharedCluster().primary.url)
        try server.execute(
            """
            DO $$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '\(role)') THEN CREATE ROLE \(role); END IF;
            END $$
            """)
        try server.execute(
            """
            CREATE OR REPLACE FUNCTION pooltop_hidden_tz() RETURNS void LANGUAGE plpgsql
            AS $$ BEGIN PERFORM set_config('TimeZone', 'Asia/Tokyo', false); END $$
            """)
        try server.execute(
            """
            CREATE OR REPLACE FUNCTION pooltop_hidden_path() RETURNS void LANGUAGE plpgsql
            AS $$ BEGIN PERFORM set_config('search_path', 'pg_catalog', false); END $$
            """)
    }

    /// The answer to `show`, or the SQLSTATE of its error.
    static func answer(_ connection: PooledConnection, _ show: String) -> String {
        do {
            return try connection.execute(show)[row: 0].string(0) ?? "NULL"
        } catch {
            return "error \((error as? PostgresError)?.sqlState ?? "\(error)")"
        }
    }

    struct Seen {
        /// On the fresh connection, before the change.
        var before: String
        /// Right after the change, by the borrower that made it.
        var changed: String
        /// By the next borrower.
        var next: String
        /// `session_resets` after the first borrower gave the connection back.
        var resets: Int
    }

    /// Borrows the only connection, changes `kind`, gives it back, and looks again from the next borrower.
    func lookAfterChange(_ kind: Kind, policy: SessionResetPolicy, test: String) throws -> (Seen, ConnectionManager) {
        try Self.prepared.get()
        let manager = try ManagerTests.manager(test) {
            $0.poolSize = 1
            $0.maxOverflow = 0
            $0.sessionReset = policy
        }
        let (pid, before, changed) = try manager.withConnection { connection in
            let before = Self.answer(connection, kind.show)
            for sql in kind.change { try connection.execute(sql) }
            return (connection.backendPID, before, Self.answer(connection, kind.show))
        }
        let resets = manager.metrics().sessionResets
        let (nextPID, next) = try manager.withConnection { connection in
            (connection.backendPID, Self.answer(connection, kind.show))
        }
        #expect(nextPID == pid, "the next borrower got another connection")
        #expect(changed != before, "the change did not take effect: \(changed)")
        return (Seen(before: before, changed: changed, next: next, resets: resets), manager)
    }

    @Test(arguments: kinds, [SessionResetPolicy.auto, .always])
    func theNextBorrowerSeesTheSessionAsOpened(_ kind: Kind, policy: SessionResetPolicy) throws {
        let (seen, manager) = try lookAfterChange(kind, policy: policy, test: "reset")
        defer { manager.shutdown() }
        #expect(seen.next == seen.before, "\(kind.name) leaked to the next borrower under \(policy): \(seen.next)")
        #expect(seen.resets == 1)
        #expect(manager.metrics().connectionsCreated == 1)
    }

    @Test(arguments: kinds)
    func offLeavesTheSessionAsTheBorrowerLeftIt(_ kind: Kind) throws {
        let (seen, manager) = try lookAfterChange(kind, policy: .off, test: "resetoff")
        defer { manager.shutdown() }
        #expect(seen.next == seen.changed, "\(kind.name) was reset although DB_SESSION_RESET=off")
        #expect(seen.resets == 0)
        #expect(manager.metrics().sessionResets == 0)
    }

    @Test func alwaysAlsoUndoesWhatNoSignalShows() throws {
        // A function changing an unreported setting behind a plain SELECT (search_path is reported only from
        // PostgreSQL 18 on): `auto` cannot see it, `always` resets it anyway.
        let kind = Kind(
            name: "search_path inside a function", change: ["SELECT pooltop_hidden_path()"], show: "SHOW search_path")
        let (seen, manager) = try lookAfterChange(kind, policy: .always, test: "resetalways")
        defer { manager.shutdown() }
        #expect(seen.next == seen.before)
        // Every checkin resets under `always`, also plain ones.
        for _ in 0..<3 { try manager.withConnection { _ = try $0.execute("SELECT 1") } }
        #expect(manager.metrics().sessionResets == 5)
    }

    @Test func changesInsideASessionAndFromTasksAreResetToo() async throws {
        try Self.prepared.get()
        let manager = try ManagerTests.manager("resetpaths") {
            $0.poolSize = 1
            $0.maxOverflow = 0
        }
        defer { manager.shutdown() }
        // A plain SET inside a transaction outlives its COMMIT.
        let pid = try manager.withSession { session in
            try session.execute("SET search_path = pg_catalog")
            return session.backendPID
        }
        let afterSession = try manager.withConnection { connection in
            (connection.backendPID, try connection.execute("SHOW search_path")[row: 0].string(0))
        }
        #expect(afterSession.0 == pid)
        #expect(afterSession.1 == "\"$user\", public")
        // A task's checkin (the reset is a round trip: given back from the connection's own thread).
        try await manager.withConnection { connection in
            await Task.yield()
            _ = try await connection.execute("SET TimeZone = 'Asia/Tokyo'")
        }
        let afterTask = try manager.withConnection { connection in
            (connection.backendPID, Self.answer(connection, "SHOW TimeZone"))
        }
        #expect(afterTask.0 == pid)
        #expect(afterTask.1 != "Asia/Tokyo")
        #expect(manager.metrics().sessionResets == 2)
    }

    @Test func plainWorkloadsNeverPayForAReset() throws {
        let manager = try ManagerTests.manager("resetplain") {
            $0.poolSize = 1
            $0.maxOverflow = 0
        }
        defer { manager.shutdown() }
        let server = try ServerView(try ManagerTests.sharedCluster().primary.url)
        let table = "it_reset_\(UInt32.random(in: 0...UInt32.max))"
        try server.execute("CREATE TABLE \(table) (id int PRIMARY KEY, note text)")
        defer { _ = try? server.execute("DROP TABLE \(table)") }
        for round in 0..<10 {
            try manager.withConnection { connection in
                _ = try connection.execute("SELECT 1")
                _ = try connection.execute("select $1::int + 1", [.int(round)])
                _ = try connection.execute("  -- a comment\n WITH x AS (SELECT 2) SELECT * FROM x")
                _ = try connection.execute("SHOW TimeZone")
                _ = try connection.execute("VALUES (1); TABLE \(table);")
            }
            try manager.withSession { session in
                try session.execute("SET LOCAL statement_timeout = 5000")
                try session.execute("INSERT INTO \(table) VALUES ($1, 'x')", [.int(round)])
                try session.execute("UPDATE \(table) SET note = 'y' WHERE id = $1", [.int(round)])
                try session.execute("SAVEPOINT s; DELETE FROM \(table) WHERE id = -1; RELEASE s")
            }
        }
        #expect(manager.metrics().sessionResets == 0)
        // One change: one reset.
        try manager.withConnection { _ = try $0.execute("SET work_mem = '8MB'") }
        #expect(manager.metrics().sessionResets == 1)
        try manager.withConnection { _ = try $0.execute("SELECT 1") }
        #expect(manager.metrics().sessionResets == 1)
        #expect(manager.metrics().connectionsCreated == 1)
        let data = try JSONEncoder().encode(manager.metrics())
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["session_resets"] as? Int == 1)
    }

    @Test func aConnectionWhoseResetFailsIsClosedNotHandedOut() throws {
        let manager = try ManagerTests.manager("resetfail") {
            $0.poolSize = 1
            $0.maxOverflow = 0
        }
        defer { manager.shutdown() }
        let server = try ServerView(try ManagerTests.sharedCluster().primary.url)
        let pid = try manager.withConnection { connection in
            _ = try connection.execute("SET search_path = pg_catalog")
            // The backend dies while lent; nobody notices before the checkin's reset.
            try server.terminate([connection.backendPID])
            return connection.backendPID
        }
        let (nextPID, path) = try manager.withConnection { connection in
            (connection.backendPID, try connection.execute("SHOW search_path")[row: 0].string(0))
        }
        #expect(nextPID != pid)
        #expect(path == "\"$user\", public")
        #expect(manager.metrics().connectionsCreated == 2)
    }
}
