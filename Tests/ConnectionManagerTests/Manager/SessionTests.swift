import Foundation
import LocalCluster
import Synchronization
import Testing

@testable import ConnectionManager

/// Sessions (the seed's `get_session` / `session_scope`) and statements on a real server.
@Suite("Session")
struct SessionTests {
    let server: ServerView
    let table: String

    init() throws {
        server = try ServerView(try ManagerTests.sharedCluster().primary.url)
        table = "it_session_\(UInt32.random(in: 0...UInt32.max))"
        try server.execute("CREATE TABLE \(table) (id int PRIMARY KEY, note text)")
    }

    func rows() throws -> [Int] {
        try server.execute("SELECT id FROM \(table) ORDER BY id").rows.map { try $0.int(0) ?? -1 }
    }

    func dropTable() {
        _ = try? server.execute("DROP TABLE \(table)")
    }

    @Test func withSessionCommitsWhenTheBodyReturns() throws {
        defer { dropTable() }
        let manager = try ManagerTests.manager("scommit") { $0.poolSize = 1 }
        defer { manager.shutdown() }
        let value = try manager.withSession { session in
            try session.execute("INSERT INTO \(table) VALUES (1, 'a'), (2, 'b')")
            // Inside the transaction, the work is not visible from outside yet.
            #expect(try rows() == [])
            return try session.execute("SELECT count(*) FROM \(table)")[row: 0].int(0)
        }
        #expect(value == 2)
        #expect(try rows() == [1, 2])
        #expect(manager.metrics().checkedOut == 0)
        #expect(manager.metrics().totalCheckins == 1)
    }

    @Test func withSessionRollsBackWhenTheBodyThrows() throws {
        defer { dropTable() }
        let manager = try ManagerTests.manager("srollback") { $0.poolSize = 1 }
        defer { manager.shutdown() }
        #expect(throws: ExpectedFailure()) {
            try manager.withSession { session in
                try session.execute("INSERT INTO \(table) VALUES (1, 'a')")
                throw ExpectedFailure()
            }
        }
        #expect(try rows() == [])
        #expect(manager.metrics().checkedOut == 0)
        // The connection came back clean and is reused.
        try manager.withConnection { connection in
            #expect(connection.connection.transactionStatus == .idle)
        }
        #expect(manager.metrics().connectionsCreated == 1)
    }

    @Test func sessionCommitRollbackAndClose() throws {
        defer { dropTable() }
        let manager = try ManagerTests.manager("smanual") { $0.poolSize = 1 }
        defer { manager.shutdown() }
        let session = try manager.session()
        #expect(manager.metrics().checkedOut == 1)
        try session.execute("INSERT INTO \(table) VALUES (1, 'kept')")
        try session.commit()
        #expect(try rows() == [1])
        try session.execute("INSERT INTO \(table) VALUES (2, 'dropped')")
        try session.rollback()
        try session.execute("INSERT INTO \(table) VALUES (3, 'uncommitted')")
        session.close()
        session.close()  // idempotent
        #expect(try rows() == [1])
        #expect(manager.metrics().checkedOut == 0)
        #expect(manager.metrics().totalCheckins == 1)
        #expect(throws: SessionError.closed) { try session.execute("SELECT 1") }
        #expect(throws: SessionError.closed) { try session.commit() }
    }

    @Test func sessionDeallocatedWithoutCloseGivesItsConnectionBack() throws {
        defer { dropTable() }
        let manager = try ManagerTests.manager("sdealloc") { $0.poolSize = 1 }
        defer { manager.shutdown() }
        func forget() throws -> Int32 {
            let session = try manager.session()
            try session.execute("INSERT INTO \(table) VALUES (1, 'forgotten')")
            return session.backendPID
        }
        let pid = try forget()
        #expect(manager.metrics().checkedOut == 0)
        #expect(try rows() == [])
        let next = try manager.session()
        defer { next.close() }
        #expect(next.backendPID == pid)
    }

    @Test func parametersOfEveryTypeAndTypedAccessors() throws {
        defer { dropTable() }
        let manager = try ManagerTests.manager("sparams") { $0.poolSize = 1 }
        defer { manager.shutdown() }
        let date = Date(timeIntervalSince1970: 1_700_000_000.123456)
        let text = "héllo 'quoted' \"double\" ; DROP TABLE x; --"
        try manager.withSession { session in
            let result = try session.execute(
                "SELECT $1::text AS t, $2::int8 AS i, $3::float8 AS d, $4::bool AS b, $5::timestamptz AS ts, "
                    + "$6::text AS n, $7::int AS ni",
                [.text(text), .int(-9_007_199_254_740_993), .double(-2.5e-3), .bool(true), .date(date), .null, nil])
            #expect(result.rowCount == 1)
            #expect(result.columnNames == ["t", "i", "d", "b", "ts", "n", "ni"])
            let row = result[row: 0]
            #expect(try row.string("t") == text)
            #expect(try row.string(0) == text)
            #expect(try row.int("i") == -9_007_199_254_740_993)
            #expect(try row.int(1) == -9_007_199_254_740_993)
            #expect(try row.double("d") == -2.5e-3)
            #expect(try row.double(2) == -2.5e-3)
            #expect(try row.bool("b") == true)
            #expect(try row.bool(3) == true)
            let roundTripped = try #require(try row.date("ts"))
            #expect(abs(roundTripped.timeIntervalSince(date)) < 1e-6)
            #expect(try row.date(4).map { abs($0.timeIntervalSince(date)) < 1e-6 } == true)
            #expect(try row.isNull("n"))
            #expect(try row.isNull(5))
            #expect(try row.string("n") == nil)
            #expect(try row.int("ni") == nil)
            #expect(try !row.isNull("t"))
            let missing = try #require(throws: PostgresError.self) { try row.string("missing") }
            guard case .columnNotFound(let column) = missing else {
                Issue.record("expected columnNotFound, got \(missing)")
                return
            }
            #expect(column.contains("missing"))
            #expect(throws: PostgresError.self) { try row.int("t") }

            // Values are bound, never interpolated: they round-trip through a table too.
            try session.execute("INSERT INTO \(table) VALUES ($1, $2), ($3, $4)", [10, .text(text), 11, .null])
            let stored = try session.execute(
                "SELECT note FROM \(table) WHERE id = ANY($1::int[]) ORDER BY id", ["{10,11}"])
            #expect(try stored.rows.map { try $0.string("note") } == [text, nil])
            #expect(try session.execute("UPDATE \(table) SET note = $1 WHERE id >= $2", [false, 10]).affectedRows == 2)
        }
        #expect(try rows() == [10, 11])
    }

    @Test func serverErrorsCarrySQLStateMessageDetailAndHint() throws {
        defer { dropTable() }
        let manager = try ManagerTests.manager("serrors") { $0.poolSize = 1 }
        defer { manager.shutdown() }
        _ = try manager.withSession { try $0.execute("INSERT INTO \(table) VALUES (1, 'a')") }
        let error = try #require(throws: PostgresError.self) {
            try manager.withSession { try $0.execute("INSERT INTO \(table) VALUES (1, 'again')") }
        }
        guard case .server(let unique) = error else {
            Issue.record("expected a server error, got \(error)")
            return
        }
        #expect(unique.sqlState == "23505")
        #expect(unique.severity == "ERROR")
        #expect(unique.message.contains("duplicate key value violates unique constraint"))
        #expect(unique.detail == "Key (id)=(1) already exists.")
        #expect(error.sqlState == "23505")
        #expect("\(error)".contains("23505"))
        #expect(manager.metrics().checkedOut == 0)

        let hinted = try #require(throws: PostgresError.self) {
            try manager.withConnection { try $0.execute("SELECT pooltop_no_such_function($1::int)", [1]) }
        }
        guard case .server(let function) = hinted else {
            Issue.record("expected a server error, got \(hinted)")
            return
        }
        #expect(function.sqlState == "42883")
        #expect(function.hint?.contains("explicit type casts") == true)
        #expect(function.position != nil)
        // The session's failed transaction did not stick to the connection.
        let count = try manager.withSession { try $0.execute("SELECT count(*) FROM \(table)")[row: 0].int(0) }
        #expect(count == 1)
        #expect(manager.metrics().connectionsCreated == 1)
    }

    @Test func asyncSessionsFromManyTasksOnASmallPool() async throws {
        defer { dropTable() }
        let manager = try ManagerTests.manager("sasync") {
            $0.poolSize = 4
            $0.maxOverflow = 0
            $0.poolTimeout = .seconds(60)
        }
        defer { manager.shutdown() }
        let app = manager.configuration.effectiveApplicationName
        let inUse = Locked(0)
        let peak = Locked(0)
        let table = self.table
        let sums = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<32 {
                group.addTask {
                    if index.isMultiple(of: 2) {
                        return try await manager.withSession { session in
                            let now = inUse.update {
                                $0 += 1; return $0
                            }
                            peak.update { $0 = max($0, now) }
                            defer { inUse.update { $0 -= 1 } }
                            try await session.execute("INSERT INTO \(table) VALUES ($1, 'task')", [.int(index)])
                            try await session.execute("SELECT pg_sleep(0.02)")
                            return index
                        }
                    } else {
                        return try await manager.withConnection { connection in
                            let now = inUse.update {
                                $0 += 1; return $0
                            }
                            peak.update { $0 = max($0, now) }
                            defer { inUse.update { $0 -= 1 } }
                            try await Task.sleep(for: .milliseconds(20))
                            return try await connection.execute("SELECT $1::int", [.int(index)])[row: 0].int(0) ?? -1
                        }
                    }
                }
            }
            var sum = 0
            for try await value in group { sum += value }
            return sum
        }
        #expect(sums == (0..<32).reduce(0, +))
        #expect(peak.value <= 4)
        #expect(try rows() == Array(stride(from: 0, to: 32, by: 2)))
        let m = manager.metrics()
        #expect(m.totalCheckouts == 32)
        #expect(m.totalCheckins == 32)
        #expect(m.checkedOut == 0)
        #expect(m.connectionsCreated <= 4)
        #expect(m.timeouts == 0)
        #expect(try server.backendCount(applicationName: app) == m.checkedIn)
    }
}
