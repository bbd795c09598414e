import Foundation
import Logging

/// The seed's `DatabaseManager` facade over a ``ConnectionManager``.
///
/// `useEnhancedConnectionManager: true` (the default) turns on everything the configuration asks for:
/// health monitoring, leak detection and failover. `false` gives the plain pool the seed fell back to:
/// the same knobs, but no health timer, no leak tracking and no failover.
public final class DatabaseManager: Sendable {
    /// The manager behind the facade (for everything the facade does not cover).
    public let connectionManager: ConnectionManager

    /// A manager for `configuration`, or for the environment (`DATABASE_URL`, `DB_*`) when it is nil.
    public init(
        useEnhancedConnectionManager: Bool = true, configuration: ConnectionPoolConfig? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = Logger(label: "pooltop.database-manager")
    ) throws(ConfigurationError) {
        var config: ConnectionPoolConfig
        if let configuration {
            config = configuration
        } else {
            config = try ConnectionPoolConfig.fromEnvironment(environment)
        }
        if !useEnhancedConnectionManager {
            config.healthCheckEnabled = false
            config.leakDetectionEnabled = false
            config.failoverEnabled = false
        }
        connectionManager = try ConnectionManager(configuration: config, logger: logger)
    }

    /// The seed's `get_session`: a session you end with `commit()`/`rollback()` and `close()`.
    public func session(expectedLong: Bool = false) throws -> Session {
        try connectionManager.session(expectedLong: expectedLong)
    }

    /// The seed's `session_scope`: commits when `body` returns, rolls back when it throws.
    public func withSession<T>(expectedLong: Bool = false, _ body: (Session) throws -> T) throws -> T {
        try connectionManager.withSession(expectedLong: expectedLong, body)
    }

    /// The seed's `health_check`: checks the current target now and returns the comprehensive status.
    public func healthCheck() -> HealthStatus {
        connectionManager.checkHealthNow()
        return connectionManager.healthStatus()
    }

    /// The seed's `get_connection_pool_metrics`.
    public func connectionPoolMetrics() -> PoolMetrics {
        connectionManager.metrics()
    }

    /// The seed's `detect_connection_leaks`: connections held past the threshold now (empty when leak
    /// detection is off).
    public func detectConnectionLeaks() -> [LeakReport] {
        connectionManager.detectConnectionLeaks()
    }

    /// Stops the timers and closes the connections.
    public func shutdown() {
        connectionManager.shutdown()
    }
}
