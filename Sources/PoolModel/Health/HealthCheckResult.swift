#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The outcome of one health check against one target.
public struct HealthCheckResult: Sendable, Equatable, Codable {
    public var healthy: Bool
    /// Round trip of the check in seconds (connect excluded when the monitor's connection was open).
    public var responseTime: Double
    /// Why the check failed; `nil` when healthy. Never contains a password.
    public var error: String?
    public var checkedAt: Date
    /// The target's URL, password masked.
    public var target: String
    /// `pg_is_in_recovery()`: true on a standby; `nil` when the check failed before asking.
    public var isInRecovery: Bool?
    /// `server_version` as reported by the server.
    public var serverVersion: String?

    public init(
        healthy: Bool, responseTime: Double, error: String? = nil, checkedAt: Date, target: String,
        isInRecovery: Bool? = nil, serverVersion: String? = nil
    ) {
        self.healthy = healthy
        self.responseTime = responseTime
        self.error = error
        self.checkedAt = checkedAt
        self.target = target
        self.isInRecovery = isInRecovery
        self.serverVersion = serverVersion
    }

    enum CodingKeys: String, CodingKey {
        case healthy, error, target
        case responseTime = "response_time"
        case checkedAt = "checked_at"
        case isInRecovery = "is_in_recovery"
        case serverVersion = "server_version"
    }
}

/// Aggregates over the health history of one target.
public struct HealthStats: Sendable, Equatable, Codable {
    public var totalChecks: Int
    public var healthyChecks: Int
    public var failedChecks: Int
    /// healthyChecks / totalChecks, 0...1 (1 when no check ran yet).
    public var successRate: Double
    /// Mean response time of healthy checks, seconds.
    public var avgResponseTime: Double
    /// 95th percentile response time of healthy checks in the history window, seconds.
    public var p95ResponseTime: Double
    /// Length of the current run of equal outcomes (healthy or failed, see `streakHealthy`).
    public var currentStreak: Int
    public var streakHealthy: Bool

    public init(
        totalChecks: Int = 0, healthyChecks: Int = 0, failedChecks: Int = 0, successRate: Double = 1,
        avgResponseTime: Double = 0, p95ResponseTime: Double = 0, currentStreak: Int = 0, streakHealthy: Bool = true
    ) {
        self.totalChecks = totalChecks
        self.healthyChecks = healthyChecks
        self.failedChecks = failedChecks
        self.successRate = successRate
        self.avgResponseTime = avgResponseTime
        self.p95ResponseTime = p95ResponseTime
        self.currentStreak = currentStreak
        self.streakHealthy = streakHealthy
    }

    enum CodingKeys: String, CodingKey {
        case totalChecks = "total_checks"
        case healthyChecks = "healthy_checks"
        case failedChecks = "failed_checks"
        case successRate = "success_rate"
        case avgResponseTime = "avg_response_time"
        case p95ResponseTime = "p95_response_time"
        case currentStreak = "current_streak"
        case streakHealthy = "streak_healthy"
    }
}
