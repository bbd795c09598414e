import Foundation
import LocalCluster
import Testing

@testable import ConnectionManager

/// Connect and query deadlines through the manager: wrong password, closed port, stopped (SIGSTOP) server.
/// Needs a cluster of its own (it is paused); the two timing assertions of the manager tests live here.
@Suite("Manager deadlines", .serialized)
struct DeadlineTests {
    static let user = LocalCluster.PasswordUser(name: "pooltop_it", password: "Right-H0rse-Battery")
    /// Started on first use, for every test of this suite; removed at process exit.
    static let ownCluster = Result { () throws(LocalClusterError) -> LocalCluster in
        try LocalCluster.start(.init(passwordUser: user))
    }
    let cluster: LocalCluster

    init() throws {
        cluster = try Self.ownCluster.get()
    }

    @Test func wrongPasswordSaysAuthenticationFailedWithoutThePassword() throws {
        let wrong = "Wr0ng-Pa55word-xyz"
        let url = cluster.primary.url(user: Self.user.name, password: wrong)
        let manager = try ManagerTests.manager("authfail", url: url)
        defer { manager.shutdown() }
        let error = try #require(throws: PoolError.self) { try manager.withConnection { _ in } }
        let underlying = try #require(error.connectError as? PostgresError, "expected connectFailed, got \(error)")
        guard case .authenticationFailed(let target, _) = underlying else {
            Issue.record("expected authenticationFailed, got \(underlying)")
            return
        }
        #expect(target.contains("***"))
        let text = "\(error)"
        #expect(text.lowercased().contains("authentication failed"), "\(text)")
        #expect(!text.contains(wrong))
        #expect(manager.metrics().connectFailures == 1)
        #expect(manager.metrics().timeouts == 0)
        #expect(manager.snapshot().events.allSatisfy { !$0.message.contains(wrong) })
        #expect(!String(decoding: try manager.healthStatus().jsonData(), as: UTF8.self).contains(wrong))

        // The right password works, so it really was the password.
        let right = try ManagerTests.manager(
            "authok", url: cluster.primary.url(user: Self.user.name, password: Self.user.password))
        defer { right.shutdown() }
        #expect(try right.withConnection { try $0.execute("SELECT current_user")[row: 0].string(0) } == Self.user.name)
    }

    @Test func closedPortFailsFastInsteadOfWaitingForTheDeadline() throws {
        let port = try TestServer.closedPort()
        // With a 60 s connect deadline, only an immediate refusal lets the attempts fail within the 500 ms pool
        // timeout (they are retried with backoff meanwhile); a wait for the deadline would give connectTimedOut.
        let manager = try ManagerTests.manager("closedport", url: "postgresql://postgres@127.0.0.1:\(port)/postgres") {
            $0.connectTimeout = .seconds(60)
            $0.poolTimeout = .milliseconds(500)
        }
        defer { manager.shutdown() }
        let error = try #require(throws: PoolError.self) { try manager.withConnection { _ in } }
        let underlying = try #require(error.connectError as? PostgresError, "expected connectFailed, got \(error)")
        guard case .connectFailed(_, let message) = underlying else {
            Issue.record("expected connectFailed, got \(underlying)")
            return
        }
        #expect(message.contains("refused"), "\(message)")
    }

    @Test func connectToAStoppedServerFailsAtTheConnectTimeout() throws {
        // The pool timeout ends with the first attempt: the error comes at the connect deadline, not a retry later.
        let manager = try ManagerTests.manager("stoppedconnect", url: cluster.primary.url) {
            $0.connectTimeout = .milliseconds(300)
            $0.poolTimeout = .milliseconds(300)
        }
        defer { manager.shutdown() }
        try cluster.primary.pause()
        defer { cluster.primary.resume() }
        let start = ContinuousClock.now
        let error = try #require(throws: PoolError.self) { try manager.withConnection { _ in } }
        let elapsed = ContinuousClock.now - start
        cluster.primary.resume()
        #expect(elapsed >= .milliseconds(300) && elapsed < .milliseconds(400), "failed after \(elapsed)")
        let underlying = try #require(error.connectError as? PostgresError, "expected connectFailed, got \(error)")
        guard case .connectTimedOut(_, let after) = underlying else {
            Issue.record("expected connectTimedOut, got \(underlying)")
            return
        }
        #expect(after > .milliseconds(250) && after <= .milliseconds(300))
        #expect(manager.metrics().connectFailures == 1)
        #expect(manager.metrics().timeouts == 0)
        // Once resumed, the same manager connects (after the breaker's backoff of at most 50 ms).
        #expect(
            ManagerTests.eventually { (try? manager.withConnection { try $0.execute("SELECT 1")[row: 0].int(0) }) == 1 }
        )
    }

    @Test func queryOnAStoppedServerFailsAtTheQueryTimeout() throws {
        let manager = try ManagerTests.manager("stoppedquery", url: cluster.primary.url) {
            $0.queryTimeout = .milliseconds(300)
            $0.poolSize = 1
            $0.poolPrePing = false
        }
        defer { manager.shutdown() }
        let connection = try manager.checkOut()
        let pid = connection.backendPID
        #expect(try connection.execute("SELECT 1")[row: 0].int(0) == 1)
        try cluster.primary.pause()
        defer { cluster.primary.resume() }
        let start = ContinuousClock.now
        let error = try #require(throws: PostgresError.self) { try connection.execute("SELECT 1") }
        let elapsed = ContinuousClock.now - start
        cluster.primary.resume()
        connection.close()
        #expect(elapsed >= .milliseconds(300), "failed after \(elapsed)")
        // PostgresConnection sends a cancel at the deadline and waits `cancelGrace` (50 ms) for the stopped server
        // to confirm it before closing the connection: the error comes within 100 ms of the deadline.
        #expect(elapsed < .milliseconds(400), "failed after \(elapsed)")
        #expect(error == .queryTimedOut(after: .milliseconds(300)))
        // The connection that timed out is not lent again.
        let next = try manager.withConnection { connection throws in
            #expect(try connection.execute("SELECT 1")[row: 0].int(0) == 1)
            return connection.backendPID
        }
        #expect(next != pid)
    }
}
