import CLibPQ
import Foundation
import Synchronization
import Testing

@testable import ConnectionManager

@Suite("PostgresConnection")
struct PostgresConnectionTests {
    let url: DatabaseURL

    init() throws {
        url = try TestServer.sharedURL()
    }

    private func connect(applicationName: String? = "pooltop-tests") throws -> PostgresConnection {
        try PostgresConnection.connect(to: url, deadline: .seconds(10), applicationName: applicationName)
    }

    // MARK: Connecting

    @Test func connectsAndDescribesTheBackend() throws {
        let connection = try connect()
        #expect(!connection.isBroken)
        #expect(connection.transactionStatus == .idle)
        #expect(connection.serverVersion >= 100_000)
        let pid = try connection.execute("SELECT pg_backend_pid() AS pid")[row: 0].int("pid")
        #expect(pid == Int(connection.backendPID))
        let name = try connection.execute("SHOW application_name")[row: 0].string(0)
        #expect(name == "pooltop-tests")
    }

    @Test func applicationNameInTheURLWins() throws {
        let withName = try DatabaseURL(url.connectionString + "?application_name=from-url")
        let connection = try PostgresConnection.connect(to: withName, deadline: .seconds(10), applicationName: "ours")
        #expect(try connection.execute("SHOW application_name")[row: 0].string(0) == "from-url")
    }

    @Test func closedPortFailsAtOnce() throws {
        let port = try TestServer.closedPort()
        let closed = try DatabaseURL("postgresql://postgres@127.0.0.1:\(port)/postgres")
        let clock = ContinuousClock()
        let start = clock.now
        #expect {
            _ = try PostgresConnection.connect(to: closed, deadline: .seconds(5), applicationName: nil)
        } throws: { error in
            guard case .connectFailed(let target, let message) = error as? PostgresError else { return false }
            return target == closed.masked && message.contains("refused")
                && (error as? PostgresError)!.isConnectionLevel
        }
        #expect(clock.now - start < .milliseconds(200))
    }

    @Test func wrongPasswordIsAnAuthenticationFailure() throws {
        let wrong = try TestServer.passwordUserURL(password: "definitely-wrong-pw")
        #expect {
            _ = try PostgresConnection.connect(to: wrong, deadline: .seconds(10), applicationName: nil)
        } throws: { error in
            guard case .authenticationFailed(let target, let message) = error as? PostgresError else { return false }
            return message.contains("password authentication failed") && !target.contains("definitely-wrong-pw")
                && !"\(error)".contains("definitely-wrong-pw") && target.contains("***")
        }
    }

    @Test func rightPasswordConnects() throws {
        let right = try TestServer.passwordUserURL(password: TestServer.password)
        let connection = try PostgresConnection.connect(to: right, deadline: .seconds(10), applicationName: nil)
        #expect(try connection.execute("SELECT current_user")[row: 0].string(0) == TestServer.passwordUser)
    }

    // MARK: Queries

    @Test func bindsParametersOfEveryType() throws {
        let connection = try connect()
        let date = Date(timeIntervalSince1970: 1_709_210_096.123456)
        let hostile = "it's'; DROP TABLE pg_class; --"
        let result = try connection.execute(
            "SELECT $1::text AS t, $2::int8 AS i, $3::float8 AS d, $4::bool AS b, $5::timestamptz AS ts,"
                + " $6::text AS n, $7::int8 AS minimum, $8::float8 AS inf, $9::bool AS f, $10::date AS day",
            [.text(hostile), 42, 2.5, true, .date(date), nil, .int(.min), .double(-.infinity), false, "2024-02-29"])
        let row = result[row: 0]
        #expect(try row.string("t") == hostile)
        #expect(try row.int("i") == 42)
        #expect(try row.double("d") == 2.5)
        #expect(try row.bool("b") == true)
        #expect(try row.bool("f") == false)
        #expect(abs(try #require(try row.date("ts")).timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_001)
        #expect(try row.string("n") == nil)
        #expect(try row.isNull("n"))
        #expect(try row.int("minimum") == .min)
        #expect(try row.double("inf") == -.infinity)
        #expect(try row.date("day") == Date(timeIntervalSince1970: 1_709_164_800))
        #expect(try connection.execute("SELECT $1::int + $2::int", [1, 2])[row: 0].int(0) == 3)
    }

    @Test func typedAccessorsAndTheirErrors() throws {
        let connection = try connect()
        let result = try connection.execute(
            "SELECT * FROM (VALUES (1, 'abc', NULL::int, 1.5::float8, true, '2024-02-29 14:34:56+02'::timestamptz),"
                + " (2, 'x', 7, 0.25, false, NULL)) AS v(id, name, maybe, ratio, flag, at) ORDER BY id")
        #expect(result.rowCount == 2)
        #expect(result.columnNames == ["id", "name", "maybe", "ratio", "flag", "at"])
        #expect(result.commandTag == "SELECT 2")
        #expect(result.affectedRows == 2)
        let first = result[row: 0]
        #expect(try first.int("id") == 1)
        #expect(try first.string(1) == "abc")
        #expect(try first.int("maybe") == nil)
        #expect(try first.isNull(2))
        #expect(try !first.isNull("name"))
        #expect(try first.double("ratio") == 1.5)
        #expect(try first.bool("flag") == true)
        #expect(try first.date("at") == Date(timeIntervalSince1970: 1_709_210_096))
        #expect(try result.rows.map { try $0.int("id") } == [1, 2])
        #expect(try result.rows[1].date("at") == nil)

        #expect(throws: PostgresError.columnNotFound("'nope'")) { try first.int("nope") }
        #expect(throws: PostgresError.columnNotFound("'ID'")) { try first.int("ID") }
        #expect(throws: PostgresError.columnNotFound("#6")) { try first.string(6) }
        #expect(throws: PostgresError.typeMismatch(column: "'name'", value: "abc", expected: "an integer")) {
            try first.int("name")
        }
        #expect(throws: PostgresError.self) { try first.bool("ratio") }
        #expect(throws: PostgresError.self) { try first.date("name") }
        #expect(throws: PostgresError.self) { try first.double("name") }
        #expect(throws: PostgresError.self) { try first.int("ratio") }
    }

    @Test func commandTagsAndAffectedRows() throws {
        let connection = try connect()
        _ = try connection.execute("CREATE TEMP TABLE counted (id int)")
        let insert = try connection.execute("INSERT INTO counted SELECT generate_series(1, 3)")
        #expect(insert.commandTag == "INSERT 0 3")
        #expect(insert.affectedRows == 3)
        #expect(insert.rowCount == 0)
        let begin = try connection.execute("BEGIN")
        #expect(begin.affectedRows == nil)
        try connection.rollback()
        let empty = try connection.execute("")
        #expect(empty.rowCount == 0 && empty.commandTag == "")
    }

    @Test func severalStatementsKeepTheLastResult() throws {
        let connection = try connect()
        let result = try connection.execute("SELECT 1; SELECT 'two' AS label")
        #expect(try result[row: 0].string("label") == "two")
        #expect {
            _ = try connection.execute("SELECT 1; SELECT 1/0; SELECT 3")
        } throws: { error in
            (error as? PostgresError)?.sqlState == "22012"
        }
        #expect(try connection.execute("SELECT 4")[row: 0].int(0) == 4)
    }

    @Test func serverErrorsCarryTheirFields() throws {
        let connection = try connect()
        #expect {
            _ = try connection.execute(
                """
                DO $$ BEGIN RAISE EXCEPTION 'custom failure %', 42
                USING DETAIL = 'the detail', HINT = 'the hint', ERRCODE = 'P0001'; END $$
                """)
        } throws: { error in
            guard case .server(let server) = error as? PostgresError else { return false }
            return server.sqlState == "P0001" && server.severity == "ERROR" && server.message == "custom failure 42"
                && server.detail == "the detail" && server.hint == "the hint"
                && "\(error)".contains("the hint") && !(error as? PostgresError)!.isConnectionLevel
        }
        _ = try connection.execute("CREATE TEMP TABLE unique_things (id int PRIMARY KEY)")
        _ = try connection.execute("INSERT INTO unique_things VALUES ($1)", [1])
        #expect {
            _ = try connection.execute("INSERT INTO unique_things VALUES ($1)", [1])
        } throws: { error in
            guard case .server(let server) = error as? PostgresError else { return false }
            return server.sqlState == "23505" && server.detail == "Key (id)=(1) already exists."
        }
        #expect {
            _ = try connection.execute("SELECT 1 FROM nowhere_at_all")
        } throws: { error in
            guard case .server(let server) = error as? PostgresError else { return false }
            return server.sqlState == "42P01" && server.position == 15
        }
        #expect(!connection.isBroken)
        #expect(try connection.execute("SELECT count(*) FROM unique_things")[row: 0].int(0) == 1)
    }

    @Test func readOnlyTransactionIsRecognized() throws {
        let connection = try connect()
        _ = try connection.execute("BEGIN READ ONLY")
        #expect {
            _ = try connection.execute("CREATE TEMP TABLE not_allowed (id int)")
        } throws: { error in
            (error as? PostgresError)?.isReadOnlyTransaction == true
        }
        try connection.rollback()
    }

    @Test func transactionStatusFollowsTheServer() throws {
        let connection = try connect()
        _ = try connection.execute("BEGIN")
        #expect(connection.transactionStatus == .inTransaction)
        #expect(throws: PostgresError.self) { try connection.execute("SELECT 1/0") }
        #expect(connection.transactionStatus == .inError)
        #expect(throws: PostgresError.self) { try connection.execute("SELECT 1") }
        try connection.rollback()
        #expect(connection.transactionStatus == .idle)
    }

    @Test func noticesAreSwallowed() throws {
        let connection = try connect()
        _ = try connection.execute("DO $$ BEGIN RAISE NOTICE 'just a notice'; RAISE WARNING 'a warning'; END $$")
        try connection.rollback()  // "there is no transaction in progress" is a WARNING, not an error.
        #expect(connection.transactionStatus == .idle)
    }

    @Test func largeQueriesAreSentCompletely() throws {
        let connection = try connect()
        let big = String(repeating: "x", count: 4 << 20)
        let length = try connection.execute("SELECT length($1)", [.text(big)], timeout: .seconds(20))[row: 0].int(0)
        #expect(length == 4 << 20)
        let inline = try connection.execute("SELECT length('\(big)')", timeout: .seconds(20))[row: 0].int(0)
        #expect(inline == 4 << 20)
    }

    // MARK: Timeouts, cancel, broken connections

    @Test func statementPastItsTimeoutIsCancelled() throws {
        let connection = try connect()
        let clock = ContinuousClock()
        let start = clock.now
        #expect(throws: PostgresError.queryTimedOut(after: .milliseconds(200))) {
            try connection.execute("SELECT pg_sleep(5)", timeout: .milliseconds(200))
        }
        let elapsed = clock.now - start
        #expect(elapsed >= .milliseconds(200) && elapsed < .milliseconds(300), "took \(elapsed)")
        #expect(!connection.isBroken)
        #expect(connection.transactionStatus == .idle)
        #expect(try connection.execute("SELECT 7", timeout: .seconds(5))[row: 0].int(0) == 7)
    }

    /// The grace after a cancel runs out while the statement is off the CPU (a busy machine), with the server's
    /// answer already in the socket: the statement reads it before calling the server silent, so the connection
    /// stays open. The steps of `send`, with the thread's absence made certain: the test waits for the answer
    /// between the deadline and the end of the grace.
    @Test func anAnswerThatArrivedDuringTheGraceIsReadWhenTheGraceRunsOut() throws {
        let connection = try connect()
        let (handle, _) = try connection.start("SELECT pg_sleep(30)", [])
        var collector = ResultCollector(timeout: .milliseconds(10))
        defer { collector.discard() }
        // Sent; the reply is 30 s away.
        #expect(try connection.advance(&collector, handle) == POLLIN)
        // The deadline passed: the cancel request goes out and the grace begins.
        try connection.waited(&collector, .timedOut, handle)
        #expect(collector.timeoutCancel != nil)
        // The statement's thread is away for longer than the grace; the server answers the cancel meanwhile.
        guard case .ready(readable: true) = SocketWait.waitForReply(PQsocket(handle), until: .now + .seconds(20))
        else {
            Issue.record("the server did not answer the cancel request within 20 s")
            return
        }
        // The thread is back, and its wait reports the grace over.
        try connection.waited(&collector, .timedOut, handle)
        #expect(!connection.isBroken)
        while let events = try connection.advance(&collector, handle) {
            try connection.waited(
                &collector, SocketWait.wait(PQsocket(handle), for: events, until: .now + .seconds(20)), handle)
        }
        let delivered = collector.timeoutCancel?.wait(until: .now + .seconds(20)) ?? false
        #expect(throws: PostgresError.queryTimedOut(after: .milliseconds(10))) {
            _ = try connection.finish(&collector, handle, timeoutCancelDelivered: delivered)
        }
        #expect(!connection.isBroken)
        #expect(connection.transactionStatus == .idle)
        #expect(try connection.execute("SELECT 7", timeout: .seconds(5))[row: 0].int(0) == 7)
    }

    @Test func cancelFromAnotherThread() throws {
        let connection = try connect()
        let clock = ContinuousClock()
        let start = clock.now
        // The cancel comes from a plain thread: the query below blocks this one.
        let delivered = Mutex<Bool?>(nil)
        let canceller = Thread {
            Thread.sleep(forTimeInterval: 0.15)
            let result = connection.cancel()
            delivered.withLock { $0 = result }
        }
        canceller.start()
        #expect {
            _ = try connection.execute("SELECT pg_sleep(10)")
        } throws: { error in
            (error as? PostgresError)?.sqlState == "57014"
        }
        #expect(clock.now - start < .seconds(9))
        let deadline = clock.now + .seconds(10)
        while delivered.withLock({ $0 }) == nil && clock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(delivered.withLock { $0 } == true)
        #expect(try connection.execute("SELECT 1")[row: 0].int(0) == 1)
        #expect(connection.cancel())  // Delivered while idle: the server ignores it, the next query is unharmed.
        #expect(try connection.execute("SELECT pg_sleep(0.05), 2")[row: 0].int(1) == 2)
    }

    @Test func terminatedBackendIsConnectionLost() throws {
        let victim = try connect()
        let killer = try connect()
        _ = try killer.execute("SELECT pg_terminate_backend($1)", [.int(Int(victim.backendPID))])
        try TestServer.waitUntilGone(pid: victim.backendPID, using: killer)
        #expect {
            _ = try victim.execute("SELECT 1")
        } throws: { error in
            guard case .connectionLost = error as? PostgresError else { return false }
            return (error as? PostgresError)!.isConnectionLevel
        }
        #expect(victim.isBroken)
        #expect(victim.transactionStatus == .unknown)
        #expect(throws: PostgresError.self) { try victim.execute("SELECT 1") }
        #expect(!victim.ping(timeout: .seconds(1)))
    }

    @Test func pingChecksLiveness() throws {
        let connection = try connect()
        #expect(connection.ping(timeout: .seconds(2)))
        let killer = try connect()
        _ = try killer.execute("SELECT pg_terminate_backend($1)", [.int(Int(connection.backendPID))])
        try TestServer.waitUntilGone(pid: connection.backendPID, using: killer)
        #expect(!connection.ping(timeout: .seconds(2)))
        #expect(connection.isBroken)
    }

    @Test func pingWorksInAFailedTransaction() throws {
        let connection = try connect()
        _ = try connection.execute("BEGIN")
        #expect(throws: PostgresError.self) { try connection.execute("SELECT 1/0") }
        #expect(connection.ping(timeout: .seconds(2)))
        #expect(connection.transactionStatus == .inError)
        try connection.rollback()
        #expect(connection.transactionStatus == .idle)
    }

    @Test func closeIsIdempotent() throws {
        let connection = try connect()
        connection.close()
        connection.close()
        #expect(connection.isClosed && connection.isBroken)
        #expect(throws: PostgresError.connectionClosed) { try connection.execute("SELECT 1") }
    }
}
