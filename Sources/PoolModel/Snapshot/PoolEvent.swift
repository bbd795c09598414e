#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One line of the manager's event log (shown in the dashboard's Events panel).
public struct PoolEvent: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case connectFailed = "connect_failed"
        case poolTimeout = "pool_timeout"
        case healthCheckFailed = "health_check_failed"
        case healthRecovered = "health_recovered"
        case failover
        case failoverRefused = "failover_refused"
        case leakDetected = "leak_detected"
        case leakReturned = "leak_returned"
        case leakTerminated = "leak_terminated"
        case serverRestarted = "server_restarted"
        case suspended
        case resumed
        case evicted
        case info
    }

    public var at: Date
    public var kind: Kind
    /// A full sentence for a person; URLs already masked.
    public var message: String
    /// Position in the manager's event log: 1 for its first event, one more for each next one (never reused,
    /// also after old events are dropped). The control endpoint's events cursor (`events_after`). 0 = not logged.
    public var sequence: Int

    public init(at: Date, kind: Kind, message: String, sequence: Int = 0) {
        self.at = at
        self.kind = kind
        self.message = message
        self.sequence = sequence
    }

    enum CodingKeys: String, CodingKey {
        case at, kind, message, sequence
    }

    /// A missing `sequence` (JSON written before it existed) reads as 0.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        at = try container.decode(Date.self, forKey: .at)
        kind = try container.decode(Kind.self, forKey: .kind)
        message = try container.decode(String.self, forKey: .message)
        sequence = try container.decodeIfPresent(Int.self, forKey: .sequence) ?? 0
    }
}
