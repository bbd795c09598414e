import Foundation
import LocalCluster
import Testing

@testable import ConnectionManager

/// Regression (issue 9, finding 10): after a server restart each stale pooled connection cost its borrower an
/// error (with the defaults, pre-ping only after 500 ms idle: three failed checkouts in a row, in three rounds of
/// three), and the `server_restarted` event was never emitted.
@Suite("Server restart (integration)", .serialized)
struct RestartIntegrationTests {
    @Test("after a restart, one error at most: the other stale connections are checked, the restart is recorded")
    func restartCostsAtMostOneError() throws {
        let cluster = try LocalCluster.start()
        defer { cluster.stop() }
        var config = try Integration.configuration(
            cluster.primary.url, applicationName: Integration.applicationName("restart"))
        config.poolSize = 4
        config.healthCheckEnabled = false  // The pool must notice by itself, not through a health check.
        config.prePingAfterIdle = .seconds(60)  // Idle connections are not pinged for their idle time.
        let manager = try ConnectionManager(configuration: config, logger: Integration.quietLogger)
        defer { manager.shutdown() }
        // Four idle connections, all used once.
        let sessions = try (0..<4).map { _ in try manager.session() }
        for session in sessions { try session.execute("SELECT 1") }
        for session in sessions { session.close() }
        #expect(manager.metrics().checkedIn == 4)

        try cluster.primary.restart()
        var failures = 0
        for _ in 0..<8 {
            do {
                _ = try manager.withConnection { try $0.execute("SELECT 1") }
            } catch {
                failures += 1
            }
        }
        #expect(failures <= 1, "failed checkouts after the restart: \(failures)")
        let restarted = Integration.eventually(timeout: .seconds(3)) {
            manager.snapshot().events.contains { $0.kind == .serverRestarted }
        }
        #expect(restarted, "events: \(manager.snapshot().events.map(\.message))")
        #expect(manager.metrics().generation >= 1)
    }
}

/// Regression: the restart event was first wired as a pool listener, and any listener makes every checkout and
/// checkin take the listeners' lock (pooltop-bench checkout, 64 threads: 11 M → 0.1 M ops/s).
@Suite("The manager's own hooks")
struct ManagerHookTests {
    @Test("a manager adds no pool listener of its own")
    func noListenerByDefault() throws {
        let manager = try ManagerTests.manager("hooks")
        defer { manager.shutdown() }
        #expect(manager.pool.listenerCount.load(ordering: .relaxed) == 0)
    }
}
