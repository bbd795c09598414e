#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The seed's comprehensive status, as returned by ``ConnectionManager/healthStatus()`` and printed by
/// `pooltop status`. JSON keys are snake_case; times in seconds; timestamps ISO 8601; URLs masked.
public struct HealthStatus: Sendable, Codable, Equatable {
    public var healthy: Bool
    public var poolMetrics: PoolMetrics
    public var healthCheck: HealthCheckResult?
    public var healthStats: HealthStats
    public var failoverStats: FailoverStats
    public var leakDetection: LeakDetectionStatus
    /// Sessions on the server blocked behind a lock longer than `DB_BLOCKED_THRESHOLD`; present only then, and
    /// then `healthy` is false even though the server answers (`server_answers`).
    public var blocked: BlockedAlarm?
    /// Whether the last health check of the current target passed (the server itself answers).
    public var serverAnswers: Bool?

    /// The `leak_detection` section.
    public struct LeakDetectionStatus: Sendable, Codable, Equatable {
        public var enabled: Bool
        public var threshold: Double
        public var activeConnections: Int
        public var totalLeaked: Int
        public var leaks: [Leak]

        enum CodingKeys: String, CodingKey {
            case enabled, threshold, leaks
            case activeConnections = "active_connections"
            case totalLeaked = "total_leaked"
        }
    }

    /// One leaked connection in the JSON (stack frames are left to the dashboard: symbolication is costly).
    public struct Leak: Sendable, Codable, Equatable {
        public var connectionID: Int
        public var backendPID: Int32
        public var checkedOutAt: Date
        public var heldFor: Double
        public var threadName: String
        public var lastSQL: String?
        public var target: String
        public var server: ServerActivity?

        enum CodingKeys: String, CodingKey {
            case target, server
            case connectionID = "connection_id"
            case backendPID = "backend_pid"
            case checkedOutAt = "checked_out_at"
            case heldFor = "held_for"
            case threadName = "thread_name"
            case lastSQL = "last_sql"
        }
    }

    enum CodingKeys: String, CodingKey {
        case healthy
        case poolMetrics = "pool_metrics"
        case healthCheck = "health_check"
        case healthStats = "health_stats"
        case failoverStats = "failover_stats"
        case leakDetection = "leak_detection"
        case blocked
        case serverAnswers = "server_answers"
    }

    /// Like the synthesized encoding, except that `health_check` and its `error` are written as `null` when
    /// absent instead of being left out: the seed's JSON always has both keys.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(healthy, forKey: .healthy)
        try container.encode(poolMetrics, forKey: .poolMetrics)
        try container.encode(healthCheck.map(CheckWithError.init), forKey: .healthCheck)
        try container.encode(healthStats, forKey: .healthStats)
        try container.encode(failoverStats, forKey: .failoverStats)
        try container.encode(leakDetection, forKey: .leakDetection)
        try container.encodeIfPresent(blocked, forKey: .blocked)
        try container.encodeIfPresent(serverAnswers, forKey: .serverAnswers)
    }

    /// A health check whose `error` key is present (`null`) when it passed.
    private struct CheckWithError: Encodable {
        let check: HealthCheckResult

        func encode(to encoder: any Encoder) throws {
            try check.encode(to: encoder)
            if check.error == nil {
                var container = encoder.container(keyedBy: HealthCheckResult.CodingKeys.self)
                try container.encodeNil(forKey: .error)
            }
        }
    }

    package init(snapshot: ManagerSnapshot, leakDetectionEnabled: Bool) {
        serverAnswers = snapshot.lastHealthCheck?.healthy ?? false
        blocked = snapshot.server?.alarm
        healthy = serverAnswers == true && blocked == nil
        poolMetrics = snapshot.metrics
        healthCheck = snapshot.lastHealthCheck
        healthStats = snapshot.healthStats
        failoverStats = snapshot.failover
        leakDetection = LeakDetectionStatus(
            enabled: leakDetectionEnabled, threshold: snapshot.leakThreshold,
            activeConnections: snapshot.activeConnections, totalLeaked: snapshot.totalLeaked,
            leaks: snapshot.leaks.map { leak in
                Leak(
                    connectionID: leak.info.connectionID, backendPID: leak.info.backendPID,
                    checkedOutAt: leak.info.checkedOutAt, heldFor: leak.heldFor, threadName: leak.info.threadName,
                    lastSQL: leak.info.lastSQL, target: leak.info.target, server: leak.server)
            })
    }

    /// Pretty-printed JSON with sorted keys, ISO 8601 dates.
    public func jsonData() throws -> Data {
        try ControlJSON.encoder(pretty: true).encode(self)
    }

    /// A few lines for people (what `pooltop status` prints without `--json`).
    public var summary: String {
        let m = poolMetrics
        var lines: [String] = []
        lines.append("pooltop status: " + (healthy ? "HEALTHY ✓" : "UNHEALTHY ✗"))
        if let blocked {
            // The server answers; its clients do not get anywhere.
            lines.append(
                "  blocked    \(blocked.summary) (threshold \(Int(blocked.threshold)) s; the server itself answers)")
        }
        let role =
            failoverStats.isPrimary
            ? "primary" : (failoverStats.targets.first { $0.isCurrent }?.role.rawValue ?? "unknown")
        lines.append(
            "  target     \(failoverStats.currentURL) (\(role)\(healthCheck?.serverVersion.map { ", PostgreSQL \($0)" } ?? ""))"
        )
        if let check = healthCheck {
            if check.healthy {
                lines.append("  response   \(FixedPoint.format(check.responseTime * 1000, decimals: 1)) ms")
            } else {
                lines.append("  error      \(check.error ?? "the health check failed")")
            }
        }
        lines.append(
            "  pool       \(m.checkedOut)/\(m.size) in use, overflow \(m.overflow)/\(m.maxOverflow), waiting \(m.waiting)"
        )
        lines.append(
            "  failover   \(failoverStats.targets.count) target\(failoverStats.targets.count == 1 ? "" : "s"), "
                + "\(failoverStats.failoverCount) failover\(failoverStats.failoverCount == 1 ? "" : "s")")
        lines.append("  leaks      \(leakDetection.leaks.count) now, \(leakDetection.totalLeaked) in total")
        return lines.joined(separator: "\n")
    }
}
