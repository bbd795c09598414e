import Foundation

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

/// Samples of lifetime counters, one per scan tick, from which ``RecentActivity`` is derived. A pure value.
struct RecentWindow: Sendable {
    struct Sample: Sendable, Equatable {
        var at: Date
        var connectFailures: Int
        var timeouts: Int
        var timeoutsWhileSuspended: Int
        var failedChecks: Int
    }

    /// How far back the window reaches.
    let length: TimeInterval
    private(set) var samples: [Sample] = []

    init(length: TimeInterval = 60) {
        self.length = length
    }

    /// Records the counters now; drops samples that no window needs any more (keeps one just older than it).
    mutating func record(_ sample: Sample) {
        samples.append(sample)
        let cutoff = sample.at.addingTimeInterval(-length)
        if let firstInside = samples.firstIndex(where: { $0.at >= cutoff }), firstInside > 1 {
            samples.removeFirst(firstInside - 1)
        }
    }

    /// What happened between the oldest sample inside the window (or just before it) and `current`.
    func activity(current: Sample) -> RecentActivity {
        let cutoff = current.at.addingTimeInterval(-length)
        guard let base = samples.last(where: { $0.at <= cutoff }) ?? samples.first else {
            return RecentActivity()
        }
        return RecentActivity(
            window: min(length, max(0, current.at.timeIntervalSince(base.at))),
            connectFailures: max(0, current.connectFailures - base.connectFailures),
            timeouts: max(0, current.timeouts - base.timeouts),
            timeoutsWhileSuspended: max(0, current.timeoutsWhileSuspended - base.timeoutsWhileSuspended),
            failedChecks: max(0, current.failedChecks - base.failedChecks))
    }
}
