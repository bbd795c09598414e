import Foundation
import LocalCluster
import Testing

@testable import ConnectionManager

/// Health monitoring on real servers: the timer, the result fields, statistics, immediate checks and shutdown.
/// Each test starts a private primary (≈ 0.7 s) because some of them break it.
@Suite("Health monitoring (integration)", .serialized)
struct HealthIntegrationTests {
    @Test("Checks run on the timer on their own connection, so a saturated pool still reads healthy")
    func checksRunOnTimerWhilePoolIsSaturated() throws {
        let password = "s3cret-pw"
        let cluster = try LocalCluster.start(.init(passwordUser: .init(name: "app", password: password)))
        defer { cluster.stop() }
        let url = cluster.primary.url(user: "app", password: password)
        var config = try Integration.configuration(url, applicationName: Integration.applicationName("timer"))
        config.poolSize = 1
        config.poolTimeout = .milliseconds(300)
        let manager = try ConnectionManager(configuration: config)
        defer { manager.shutdown() }

        // Saturate the pool: its only connection is held for the rest of the test.
        let held = try manager.session()
        defer { held.close() }
        try held.execute("SELECT 1")
        #expect(throws: PoolError.self) { try manager.withConnection { _ in } }
        let saturatedAt = Date()

        try #require(
            Integration.eventually(timeout: .seconds(5)) {
                manager.snapshot().healthHistory.filter { $0.checkedAt > saturatedAt }.count >= 4
            })
        let snapshot = manager.snapshot()
        #expect(snapshot.metrics.checkedOut == 1)
        let results = snapshot.healthHistory
        #expect(results.allSatisfy { $0.healthy }, note("\(results.compactMap(\.error))"))

        let masked = try DatabaseURL(url).masked
        let latest = try #require(snapshot.lastHealthCheck)
        #expect(latest.target == masked)
        #expect(latest.target.contains("***") && !latest.target.contains(password))
        #expect(latest.isInRecovery == false)
        let version = try cluster.primary.psql("SHOW server_version")
        #expect(latest.serverVersion == version)
        #expect(latest.responseTime > 0 && latest.responseTime < 1)
        #expect(abs(latest.checkedAt.timeIntervalSinceNow) < 2)
        #expect(latest.error == nil)

        // Spacing follows the interval (200 ms): generous bounds for a busy machine.
        let gaps = zip(results.dropFirst(), results).map { $0.checkedAt.timeIntervalSince($1.checkedAt) }
        let sortedGaps = gaps.sorted()
        let medianGap = sortedGaps[sortedGaps.count / 2]
        #expect(medianGap > 0.1 && medianGap < 0.6, note("gaps between checks: \(gaps)"))

        let stats = snapshot.healthStats
        #expect(stats.totalChecks == results.count)
        #expect(stats.healthyChecks == stats.totalChecks)
        #expect(stats.failedChecks == 0)
        #expect(stats.successRate == 1)
        let times = results.map(\.responseTime)
        #expect(stats.avgResponseTime >= times.min()! && stats.avgResponseTime <= times.max()!)
        #expect(stats.p95ResponseTime >= times.sorted()[times.count / 2] && stats.p95ResponseTime <= times.max()!)
        #expect(stats.currentStreak == stats.totalChecks && stats.streakHealthy)

        // The same through the seed's status and its JSON keys.
        let status = manager.healthStatus()
        #expect(status.healthy)
        #expect(status.healthStats.totalChecks >= stats.totalChecks)
        let json = String(decoding: try status.jsonData(), as: UTF8.self)
        for key in [
            "\"response_time\"", "\"checked_at\"", "\"is_in_recovery\"", "\"server_version\"",
            "\"success_rate\"", "\"p95_response_time\"", "\"current_streak\"", "\"total_checks\"",
        ] {
            #expect(json.contains(key), note("missing \(key)"))
        }
        #expect(!json.contains(password))
    }

    @Test("A connection failure seen by a query triggers a check at once, not at the next 60 s tick")
    func connectionFailureTriggersImmediateCheck() throws {
        let cluster = try LocalCluster.start()
        defer { cluster.stop() }
        var config = try Integration.configuration(
            cluster.primary.url, applicationName: Integration.applicationName("immediate"))
        config.healthCheckInterval = .seconds(60)
        let manager = try ConnectionManager(configuration: config)
        defer { manager.shutdown() }

        // The first tick runs at start; then nothing for 60 s.
        _ = try manager.withConnection { try $0.execute("SELECT 1") }
        try #require(Integration.eventually(timeout: .seconds(5)) { manager.snapshot().healthStats.totalChecks == 1 })
        #expect(manager.snapshot().lastHealthCheck?.healthy == true)

        try cluster.primary.kill9()
        let failedAt = Date()
        #expect(throws: (any Error).self) { try manager.withConnection { try $0.execute("SELECT 1") } }

        // Generous bounds (the machine may be loaded): what matters is that the check is not the 60 s tick's.
        let sawFailedCheck = Integration.eventually(timeout: .seconds(30)) {
            manager.snapshot().healthHistory.contains { !$0.healthy }
        }
        #expect(sawFailedCheck, "no failed health check within 30 s of the failure")
        let failed = try #require(manager.snapshot().healthHistory.first { !$0.healthy })
        let delay = failed.checkedAt.timeIntervalSince(failedAt)
        print("[health] failed check \(String(format: "%.0f", delay * 1000)) ms after the query failure")
        #expect(delay < 30, note("the check ran \(delay) s after the failure"))
        #expect(failed.error?.isEmpty == false)
        #expect(failed.isInRecovery == nil)

        let status = manager.healthStatus()
        #expect(!status.healthy)
        #expect(status.healthStats.failedChecks >= 1)
        #expect(status.healthStats.successRate < 1)
        #expect(!status.healthStats.streakHealthy)
        #expect(manager.snapshot().events.contains { $0.kind == .healthCheckFailed })
    }

    @Test("checkHealthNow() checks the current target on the calling thread and records it")
    func checkHealthNowRecordsTheResult() throws {
        let cluster = try LocalCluster.start()
        defer { cluster.stop() }
        var config = try Integration.configuration(
            cluster.primary.url, applicationName: Integration.applicationName("now"))
        config.healthCheckInterval = .seconds(60)
        let manager = try ConnectionManager(configuration: config)
        defer { manager.shutdown() }
        try #require(Integration.eventually(timeout: .seconds(5)) { manager.snapshot().healthStats.totalChecks == 1 })

        let result = manager.checkHealthNow()
        #expect(result.healthy)
        #expect(result.isInRecovery == false)
        #expect(manager.snapshot().healthStats.totalChecks == 2)
        #expect(manager.snapshot().lastHealthCheck == result)
    }

    @Test("shutdown() stops the checks and closes the monitor's connection")
    func shutdownLeavesNoTimerOrConnection() throws {
        let cluster = try LocalCluster.start()
        defer { cluster.stop() }
        let app = Integration.applicationName("shutdown")
        let manager = try ConnectionManager(
            configuration: try Integration.configuration(
                cluster.primary.url, applicationName: app))
        _ = try manager.withConnection { try $0.execute("SELECT 1") }
        try #require(Integration.eventually(timeout: .seconds(5)) { manager.snapshot().healthStats.totalChecks >= 3 })
        let before = try Integration.backends(of: cluster.primary, applicationPrefix: app)
        #expect(before.contains("\(app) (health)"), note("backends: \(before)"))

        manager.shutdown()
        let countAtShutdown = manager.snapshot().healthStats.totalChecks
        let gone = try Integration.eventually(timeout: .seconds(3)) {
            try Integration.backends(of: cluster.primary, applicationPrefix: app).isEmpty
        }
        let remaining = try Integration.backends(of: cluster.primary, applicationPrefix: app)
        #expect(gone, note("still connected: \(remaining)"))
        // A negative can only be observed by waiting: five check intervals without a new check.
        Thread.sleep(forTimeInterval: 1.0)
        #expect(manager.snapshot().healthStats.totalChecks == countAtShutdown)
        #expect(try Integration.backends(of: cluster.primary, applicationPrefix: app).isEmpty)
        #expect(throws: PoolError.self) { try manager.withConnection { _ in } }
    }

    /// Regression (issue 9, finding 11): with health checks off, a connection error made the manager probe the
    /// target on a connection of its own and keep it open for good; with connections capped per user it took the
    /// slot the pool needed to reconnect.
    @Test("with health checks off, a probe after a connection error leaves no connection behind")
    func probeWithoutHealthChecksKeepsNoConnection() throws {
        let cluster = try LocalCluster.start()
        defer { cluster.stop() }
        let app = Integration.applicationName("nohealth")
        var config = try Integration.configuration(cluster.primary.url, applicationName: app)
        config.healthCheckEnabled = false
        config.poolSize = 1
        let manager = try ConnectionManager(configuration: config, logger: Integration.quietLogger)
        defer { manager.shutdown() }
        let session = try manager.session()
        try session.execute("SELECT 1")
        _ = try cluster.primary.psql("SELECT pg_terminate_backend(\(session.backendPID))")
        #expect(throws: (any Error).self) { try session.execute("SELECT 1") }
        session.close()
        // The error asks for a probe on the control queue; it must run and then close its connection.
        let probed = Integration.eventually(timeout: .seconds(5)) {
            manager.snapshot().healthHistory.contains { $0.healthy }
        }
        #expect(probed, "no probe result: \(manager.snapshot().events.map(\.message))")
        let gone = try Integration.eventually(timeout: .seconds(3)) {
            !(try Integration.backends(of: cluster.primary, applicationPrefix: app).contains("\(app) (health)"))
        }
        let remaining = try Integration.backends(of: cluster.primary, applicationPrefix: app)
        #expect(gone, "still open: \(remaining)")
    }

    /// Regression (issue 9): a frozen postmaster (SIGSTOP) went unseen: the check reused its established connection,
    /// which keeps answering, while every new connection timed out.
    @Test("a frozen postmaster fails the health check: checks open a fresh connection now and then")
    func frozenPostmasterIsNoticed() throws {
        let cluster = try LocalCluster.start()
        defer { cluster.stop() }
        let config = try Integration.configuration(
            cluster.primary.url, applicationName: Integration.applicationName("frozen"))
        let manager = try ConnectionManager(configuration: config, logger: Integration.quietLogger)
        defer { manager.shutdown() }
        try #require(Integration.eventually(timeout: .seconds(5)) { manager.snapshot().healthStats.totalChecks >= 2 })
        try cluster.primary.pausePostmaster()
        defer { cluster.primary.resume() }
        let frozenAt = Date()
        // Checks every 200 ms open a fresh connection at least every second, under the 400 ms connect deadline.
        let noticed = Integration.eventually(timeout: .seconds(5)) {
            manager.snapshot().healthHistory.contains { !$0.healthy && $0.checkedAt > frozenAt }
        }
        #expect(
            noticed, "checks since the freeze: \(manager.snapshot().healthHistory.filter { $0.checkedAt > frozenAt })")
        cluster.primary.resume()
        let recovered = Integration.eventually(timeout: .seconds(5)) {
            manager.snapshot().lastHealthCheck?.healthy == true
        }
        #expect(recovered)
    }
}

/// Regression (issue 9): every embedding service showed up as `pooltop` in `pg_stat_activity`.
@Suite("application_name")
struct ApplicationNameTests {
    @Test("connections report the pool name by default, the explicit application name when set")
    func poolNameByDefault() throws {
        let server = try ManagerTests.sharedCluster().primary
        var config = try Integration.configuration(server.url)
        config.applicationName = nil
        config.poolName = "billing-\(UInt16.random(in: 0...UInt16.max))"
        let manager = try ConnectionManager(configuration: config, logger: Integration.quietLogger)
        defer { manager.shutdown() }
        _ = try manager.withConnection { try $0.execute("SELECT 1") }
        let names = try Integration.backends(of: server, applicationPrefix: config.poolName)
        #expect(names.contains(config.poolName), "backends: \(names)")
        #expect(names.contains("\(config.poolName) (health)"), "backends: \(names)")
    }
}
