import Foundation
import LocalCluster
import Testing

@testable import ConnectionManager

@Suite("DatabaseManager (the seed's facade)")
struct DatabaseManagerTests {
    @Test func enhancedFacadeRunsSessionsHealthMetricsAndLeaks() throws {
        let url = try ManagerTests.sharedCluster().primary.url
        let config = try ManagerTests.configuration(url, applicationName: ManagerTests.applicationName("facade")) {
            $0.leakThreshold = .milliseconds(200)
        }
        let database = try DatabaseManager(configuration: config)
        defer { database.shutdown() }

        let sum = try database.withSession { session in
            try session.execute("SELECT $1::int + $2::int", [2, 3])[row: 0].int(0)
        }
        #expect(sum == 5)

        let status = database.healthCheck()
        #expect(status.healthy)
        #expect(status.healthCheck?.isInRecovery == false)

        let held = try database.session()
        defer { held.close() }
        try held.execute("SELECT 1")
        #expect(database.connectionPoolMetrics().checkedOut == 1)
        #expect(ManagerTests.eventually { database.detectConnectionLeaks().count == 1 })
        #expect(database.detectConnectionLeaks().first?.info.connectionID == held.connectionID)
    }

    @Test func plainFacadeHasNoMonitoring() throws {
        let url = try ManagerTests.sharedCluster().primary.url
        var config = try ManagerTests.configuration(url, applicationName: ManagerTests.applicationName("plain"))
        config.healthCheckEnabled = true
        config.leakThreshold = .milliseconds(100)
        let database = try DatabaseManager(useEnhancedConnectionManager: false, configuration: config)
        defer { database.shutdown() }
        #expect(!database.connectionManager.configuration.healthCheckEnabled)
        #expect(!database.connectionManager.configuration.leakDetectionEnabled)

        let held = try database.session()
        defer { held.close() }
        try held.execute("SELECT 1")
        // Leak detection is off: nothing is ever reported, however long the session is held.
        Thread.sleep(forTimeInterval: 1.5)
        #expect(database.detectConnectionLeaks().isEmpty)
        #expect(database.connectionPoolMetrics().checkedOut == 1)
    }

    @Test func facadeReadsTheEnvironment() throws {
        let url = try ManagerTests.sharedCluster().primary.url
        let database = try DatabaseManager(environment: [
            "DATABASE_URL": url, "DB_POOL_SIZE": "3", "DB_HEALTH_CHECK": "false",
        ])
        defer { database.shutdown() }
        #expect(database.connectionPoolMetrics().size == 3)
        #expect(throws: ConfigurationError.self) {
            _ = try DatabaseManager(environment: ["DATABASE_URL": url, "DB_POOL_SIZE": "zero"])
        }
    }
}
