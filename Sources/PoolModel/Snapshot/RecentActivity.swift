#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Counts of trouble in the last minute, beside the lifetime totals in ``PoolMetrics``: a hint on screen should
/// clear when the problem is over, which a lifetime total never does.
public struct RecentActivity: Sendable, Equatable, Codable {
    /// Length of the window in seconds (60, or less while the manager has run for less).
    public var window: Double
    /// Failed attempts to open a connection in the window.
    public var connectFailures: Int
    /// Checkouts that timed out waiting for a connection in the window.
    public var timeouts: Int
    /// Timed-out checkouts in the window that waited while the pool was suspended (not saturation).
    public var timeoutsWhileSuspended: Int
    /// Failed health checks of the current target in the window.
    public var failedChecks: Int

    public init(
        window: Double = 0, connectFailures: Int = 0, timeouts: Int = 0, timeoutsWhileSuspended: Int = 0,
        failedChecks: Int = 0
    ) {
        self.window = window
        self.connectFailures = connectFailures
        self.timeouts = timeouts
        self.timeoutsWhileSuspended = timeoutsWhileSuspended
        self.failedChecks = failedChecks
    }

    enum CodingKeys: String, CodingKey {
        case window, timeouts
        case connectFailures = "connect_failures"
        case timeoutsWhileSuspended = "timeouts_while_suspended"
        case failedChecks = "failed_checks"
    }
}
