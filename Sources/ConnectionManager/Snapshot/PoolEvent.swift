import Foundation

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

    public init(at: Date, kind: Kind, message: String) {
        self.at = at
        self.kind = kind
        self.message = message
    }
}
