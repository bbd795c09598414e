import Foundation

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
