import Foundation
import Testing

@testable import ConnectionManager

/// `PostgresConnection`'s async statements, which are sent from the task and wait for their reply in the
/// process's `SocketReactor` (no thread per statement): the same results, errors, deadlines and cancel rules as
/// the blocking path, on a real server.
@Suite("PostgresConnection from tasks")
struct AsyncStatementTests {
    let url: DatabaseURL

    init() throws {
        url = try TestServer.sharedURL()
    }

    private func connect() throws -> PostgresConnection {
        try PostgresConnection.connect(to: url, deadline: .seconds(10), applicationName: "pooltop-tests")
    }

    @Test func theReactorIsRunning() {
        // Without it every async statement would fall back to the connection's own thread.
        #expect(SocketReactor.shared != nil)
    }

    // No query timeout: in the full suite blocking tests can hold both cooperative threads for seconds, and this
    // test is about the result arriving whole, not how fast (a hang still fails at the time limit).
    @Test(.timeLimit(.minutes(3))) func aResultThatTakesManyReadsArrivesWhole() async throws {
        let connection = try connect()
        let result = try await connection.execute("SELECT g, repeat('x', 100) FROM generate_series(1, 200000) AS g")
        #expect(result.rowCount == 200_000)
        #expect(try result[row: 199_999].int(0) == 200_000)
    }

    @Test(.timeLimit(.minutes(3))) func aQueryLargerThanTheSocketBufferIsSentCompletely() async throws {
        // libpq cannot hand 16 MB to the kernel at once: the task waits for the socket to be writable.
        let connection = try connect()
        let big = String(repeating: "y", count: 16 << 20)
        let bound = try await connection.execute("SELECT length($1)", [.text(big)])
        #expect(try bound[row: 0].int(0) == 16 << 20)
        let inline = try await connection.execute("SELECT length('\(big)')")
        #expect(try inline[row: 0].int(0) == 16 << 20)
    }

    /// A reply that takes 10 ms is never there when a hand-off of the CPU returns (`HandOffHabit`): after
    /// `missLimit` such statements the connection stops handing off, as it would against a server elsewhere.
    @Test func slowRepliesStopTheHandOffOfTheCPU() async throws {
        let connection = try connect()
        #expect(connection.handOffHabit == HandOffHabit())
        for _ in 0..<HandOffHabit.missLimit {
            _ = try await connection.execute("SELECT pg_sleep(0.01)")
        }
        #expect(connection.handOffHabit.pauseLeft == HandOffHabit.initialPause)
        #expect(try await connection.execute("SELECT 5")[row: 0].int(0) == 5)
        #expect(connection.handOffHabit.pauseLeft == HandOffHabit.initialPause - 1)
    }

    /// The reactor's thread runs every task that prefers it: a statement there never gives its CPU away.
    @Test func aStatementOnTheReactorsThreadDoesNotHandItsCPUOff() async throws {
        let reactor = try #require(SocketReactor.shared)
        let connection = try connect()
        let onReactor = try await withTaskExecutorPreference(reactor) {
            for _ in 0..<HandOffHabit.missLimit {
                _ = try await connection.execute("SELECT pg_sleep(0.01)")
            }
            return reactor.isCurrentThread
        }
        #expect(onReactor)
        #expect(connection.handOffHabit == HandOffHabit())
        #expect(!reactor.isCurrentThread)
    }

    @Test func serverErrorsKeepTheConnectionUsable() async throws {
        let connection = try connect()
        await #expect {
            try await connection.execute("SELECT 1/0")
        } throws: { error in
            guard case PostgresError.server(let server) = error else { return false }
            return server.sqlState == "22012"
        }
        #expect(!connection.isBroken)
        #expect(try await connection.execute("SELECT 3")[row: 0].int(0) == 3)
    }

    @Test func aStatementPastItsTimeoutIsCancelledAndTheConnectionStaysUsable() async throws {
        let connection = try connect()
        await #expect(throws: PostgresError.queryTimedOut(after: .milliseconds(200))) {
            try await connection.execute("SELECT pg_sleep(30)", timeout: .milliseconds(200))
        }
        #expect(!connection.isBroken)
        #expect(connection.transactionStatus == .idle)
        #expect(try await connection.execute("SELECT 7")[row: 0].int(0) == 7)
    }

    /// The reactor's timer is armed for the earliest deadline: a short deadline registered after a long one must
    /// still fire (before this statement could finish on its own), not wait for the long one.
    @Test func aShortDeadlineAfterALongOneStillFires() async throws {
        let long = try connect()
        let short = try connect()
        async let slow = long.execute("SELECT pg_sleep(3), 'slept'", timeout: .seconds(60))
        // Let the long statement register first.
        try await Task.sleep(for: .milliseconds(100))
        await #expect(throws: PostgresError.queryTimedOut(after: .milliseconds(200))) {
            try await short.execute("SELECT pg_sleep(30)", timeout: .milliseconds(200))
        }
        // The long one was not affected.
        #expect(long.transactionStatus == .active)
        #expect(try await slow[row: 0].string(1) == "slept")
        #expect(try await short.execute("SELECT 1")[row: 0].int(0) == 1)
    }

    @Test func manyTasksOnManyConnectionsAllGetTheirOwnAnswers() async throws {
        let connections = try (0..<8).map { _ in try connect() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, connection) in connections.enumerated() {
                group.addTask {
                    for round in 0..<200 {
                        let value = index * 1000 + round
                        // A mix of deadlines keeps re-arming the reactor's timer.
                        let timeout: Duration? = round % 3 == 0 ? nil : .seconds(30 + round % 7)
                        let answer = try await connection.execute("SELECT $1::int", [.int(value)], timeout: timeout)
                        #expect(try answer[row: 0].int(0) == value)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    @Test func aStatementOnABrokenConnectionFailsWithoutWaiting() async throws {
        let connection = try connect()
        connection.markBroken("closed by the test")
        await #expect(throws: PostgresError.connectionLost(message: "closed by the test")) {
            try await connection.execute("SELECT 1")
        }
    }

    @Test func aTerminatedBackendIsConnectionLostFromATask() async throws {
        let connection = try connect()
        let other = try connect()
        _ = try await other.execute("SELECT pg_terminate_backend(\(connection.backendPID))", timeout: .seconds(10))
        await #expect {
            try await connection.execute("SELECT 1", timeout: .seconds(10))
        } throws: { error in
            guard case PostgresError.connectionLost = error else { return false }
            return true
        }
        #expect(connection.isBroken)
    }
}
