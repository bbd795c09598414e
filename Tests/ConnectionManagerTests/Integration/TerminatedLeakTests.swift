import Foundation
import LocalCluster
import Testing

@testable import ConnectionManager

/// After `terminate(leak:)` the connection must be discarded when its holder gives it back, never handed to the
/// next, innocent borrower (issue 9, finding 9).
@Suite("TerminatedLeak")
struct TerminatedLeakTests {
    func makeManager(_ name: String) throws -> ConnectionManager {
        var config = try Integration.configuration(
            try LocalCluster.shared().primary.url, applicationName: Integration.applicationName(name))
        config.poolSize = 1
        config.maxOverflow = 0
        config.poolTimeout = .seconds(2)
        return try ConnectionManager(configuration: config, logger: Integration.quietLogger)
    }

    /// Terminates the only connection while `hold` has it, gives it back, and returns what the next borrower sees.
    func terminateThenBorrow(
        _ manager: ConnectionManager, hold: () throws -> (id: Int, pid: Int32, giveBack: () -> Void)
    ) throws -> (oldPID: Int32, newPID: Int32, answer: Int?) {
        let server = try ServerView(try LocalCluster.shared().primary.url)
        let (id, pid, giveBack) = try hold()
        let outcome = manager.terminate(leak: id)
        #expect(outcome.succeeded, note(outcome.message))
        try TestServer.waitUntilGone(pid: pid, using: server.connection)
        giveBack()
        let (newPID, answer) = try manager.withConnection { connection in
            (connection.backendPID, try connection.execute("SELECT 7")[row: 0].int(0))
        }
        return (pid, newPID, answer)
    }

    @Test(arguments: [false, true])
    func anAutocommitConnectionEndedAsALeakIsDiscardedOnReturn(holderTouchesItAgain: Bool) throws {
        let manager = try makeManager("term-conn")
        defer { manager.shutdown() }
        let seen = try terminateThenBorrow(manager) {
            let leaked = try manager.checkOut()
            _ = try leaked.execute("SELECT 1")
            return (
                leaked.connectionID, leaked.backendPID,
                {
                    if holderTouchesItAgain {
                        #expect(throws: SessionError.terminatedAsLeak(connectionID: leaked.connectionID)) {
                            try leaked.execute("SELECT 1")
                        }
                    }
                    leaked.close()
                }
            )
        }
        #expect(seen.newPID != seen.oldPID)
        #expect(seen.answer == 7)
        #expect(manager.metrics().checkedOut == 0)
    }

    @Test func aSessionEndedAsALeakIsDiscardedOnReturn() throws {
        let manager = try makeManager("term-session")
        defer { manager.shutdown() }
        let seen = try terminateThenBorrow(manager) {
            let leaked = try manager.session()
            try leaked.execute("SELECT 1")
            try leaked.commit()
            return (leaked.connectionID, leaked.backendPID, { leaked.close() })
        }
        #expect(seen.newPID != seen.oldPID)
        #expect(seen.answer == 7)
    }

    /// Regression: with leak detection off, the next scan forgot every termination (it kept only the ids the leak
    /// ledger was given, none then), so the holder got a lost connection instead of `terminatedAsLeak`.
    @Test func theHolderIsToldAfterTheScansAlsoWithLeakDetectionOff() throws {
        var config = try Integration.configuration(
            try LocalCluster.shared().primary.url, applicationName: Integration.applicationName("term-noleak"))
        config.leakDetectionEnabled = false
        let manager = try ConnectionManager(configuration: config, logger: Integration.quietLogger)
        defer { manager.shutdown() }
        let leaked = try manager.checkOut()
        _ = try leaked.execute("SELECT 1")
        let outcome = manager.terminate(leak: leaked.connectionID)
        #expect(outcome.succeeded, note(outcome.message))
        // Each scan adds one utilization sample: wait for two scans.
        let samples = manager.snapshot().utilizationHistory.count
        #expect(Integration.eventually { manager.snapshot().utilizationHistory.count >= samples + 2 })
        #expect(throws: SessionError.terminatedAsLeak(connectionID: leaked.connectionID)) {
            try leaked.execute("SELECT 1")
        }
        leaked.close()
        #expect(manager.metrics().checkedOut == 0)
    }
}
