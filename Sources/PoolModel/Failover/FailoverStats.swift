#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The role a target last reported.
public enum TargetRole: String, Sendable, Codable {
    case primary
    case standby
    /// Never reached, or not reached since the last change.
    case unknown
    case unreachable
}

/// One failover target as seen by the manager.
public struct TargetStatus: Sendable, Equatable, Codable {
    /// Position in the target list (0 = the primary URL).
    public var index: Int
    /// Masked URL.
    public var url: String
    public var role: TargetRole
    public var healthy: Bool
    public var isCurrent: Bool
    public var lastCheckedAt: Date?
    public var lastError: String?
    public var responseTime: Double?

    public init(
        index: Int, url: String, role: TargetRole, healthy: Bool, isCurrent: Bool, lastCheckedAt: Date? = nil,
        lastError: String? = nil, responseTime: Double? = nil
    ) {
        self.index = index
        self.url = url
        self.role = role
        self.healthy = healthy
        self.isCurrent = isCurrent
        self.lastCheckedAt = lastCheckedAt
        self.lastError = lastError
        self.responseTime = responseTime
    }

    enum CodingKeys: String, CodingKey {
        case index, url, role, healthy
        case isCurrent = "is_current"
        case lastCheckedAt = "last_checked_at"
        case lastError = "last_error"
        case responseTime = "response_time"
    }
}

/// One switch (or refused switch) between targets.
public struct FailoverEvent: Sendable, Equatable, Codable {
    public enum Reason: String, Sendable, Codable {
        case automatic
        case manual
        case failback
    }

    public var from: String
    public var to: String
    public var reason: Reason
    public var at: Date
    /// Seconds from the decision to switch until the new target was in use.
    public var duration: Double
    /// `nil` when it switched; otherwise why it did not.
    public var refusal: String?

    public init(from: String, to: String, reason: Reason, at: Date, duration: Double, refusal: String? = nil) {
        self.from = from
        self.to = to
        self.reason = reason
        self.at = at
        self.duration = duration
        self.refusal = refusal
    }
}

/// The seed's `failover_stats`.
public struct FailoverStats: Sendable, Equatable, Codable {
    public var currentURL: String
    public var isPrimary: Bool
    public var failoverCount: Int
    public var lastFailoverAt: Date?
    public var enabled: Bool
    public var targets: [TargetStatus]
    public var history: [FailoverEvent]
    /// `DB_FAILOVER_ALLOW_READ_ONLY`: a standby may be chosen (by hand, or when no primary answers); nil from a
    /// producer that does not say.
    public var allowsReadOnlyTargets: Bool?

    public init(
        currentURL: String, isPrimary: Bool, failoverCount: Int = 0, lastFailoverAt: Date? = nil,
        enabled: Bool = false, targets: [TargetStatus] = [], history: [FailoverEvent] = [],
        allowsReadOnlyTargets: Bool? = nil
    ) {
        self.allowsReadOnlyTargets = allowsReadOnlyTargets
        self.currentURL = currentURL
        self.isPrimary = isPrimary
        self.failoverCount = failoverCount
        self.lastFailoverAt = lastFailoverAt
        self.enabled = enabled
        self.targets = targets
        self.history = history
    }

    enum CodingKeys: String, CodingKey {
        case targets, history, enabled
        case currentURL = "current_url"
        case isPrimary = "is_primary"
        case failoverCount = "failover_count"
        case lastFailoverAt = "last_failover_at"
        case allowsReadOnlyTargets = "allow_read_only"
    }
}
