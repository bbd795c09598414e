import Foundation
import Testing

@testable import ConnectionManager

/// Deadlines against a SIGSTOPped server, which accepts TCP connections but never answers.
@Suite("PostgresConnection on a stopped server", .serialized)
struct StoppedServerTests {
    @Test func connectFailsAtTheDeadline() async throws {
        try await TestServer.withPausableServer { server in
            let connection = try PostgresConnection.connect(
                to: server.url, deadline: .seconds(10), applicationName: nil)
            let taskConnection = try PostgresConnection.connect(
                to: server.url, deadline: .seconds(10), applicationName: nil)
            try server.pause()
            defer { try? server.resume() }
            let clock = ContinuousClock()
            let start = clock.now
            #expect(throws: PostgresError.connectTimedOut(target: server.url.masked, after: .milliseconds(300))) {
                _ = try PostgresConnection.connect(to: server.url, deadline: .milliseconds(300), applicationName: nil)
            }
            let elapsed = clock.now - start
            #expect(elapsed >= .milliseconds(300) && elapsed < .milliseconds(400), "took \(elapsed)")

            // A query on a connection opened before the stop times out too; the cancel cannot be answered,
            // so the connection is closed after the grace period.
            let queryStart = clock.now
            #expect(throws: PostgresError.queryTimedOut(after: .milliseconds(200))) {
                _ = try connection.execute("SELECT 1", timeout: .milliseconds(200))
            }
            let queryElapsed = clock.now - queryStart
            #expect(queryElapsed >= .milliseconds(200) && queryElapsed < .milliseconds(400), "took \(queryElapsed)")
            #expect(connection.isBroken)
            #expect(!connection.cancel(timeout: .milliseconds(50)))

            // The same from a task: the reactor's timer ends the wait, the cancel is not answered, the connection
            // is closed after the grace period, and the task gets `.queryTimedOut`, not a hang.
            await #expect(throws: PostgresError.queryTimedOut(after: .milliseconds(200))) {
                _ = try await taskConnection.execute("SELECT 1", timeout: .milliseconds(200))
            }
            #expect(taskConnection.isBroken)

            try server.resume()
            let again = try PostgresConnection.connect(to: server.url, deadline: .seconds(10), applicationName: nil)
            #expect(try await again.execute("SELECT 1", timeout: .seconds(5))[row: 0].int(0) == 1)
        }
    }
}
