import Foundation

/// The last `capacity` health checks of one target, in a fixed-size ring, plus all-time counters.
///
/// `append` is O(1) and never reallocates once the ring is full. `stats` is O(capacity log capacity)
/// (one sort of at most `capacity` response times: ≈ 10 µs for 300), cheap enough for a dashboard at 10 Hz.
/// A value type: not thread-safe by itself; `HealthMonitor` guards its histories with a lock.
public struct HealthHistory: Sendable, Equatable {
    /// How many results the window keeps (default 300: five minutes at one check per second).
    public let capacity: Int
    /// Ring storage: grows to `capacity` by appending, then is overwritten in place.
    private var ring: [HealthCheckResult] = []
    /// The results' sequence numbers, parallel to `ring` (strictly increasing in append order).
    private var sequenceRing: [Int] = []
    /// Index of the oldest result once the ring is full (the next slot to overwrite).
    private var oldest = 0
    /// All checks ever appended (not only the window).
    public private(set) var totalChecks = 0
    /// All healthy checks ever appended.
    public private(set) var healthyChecks = 0
    /// Length of the current run of equal outcomes; 0 before the first check.
    public private(set) var currentStreak = 0
    /// Whether the current run is of healthy checks (true before the first check).
    public private(set) var streakHealthy = true

    /// Creates an empty history keeping the last `capacity` results (at least 1).
    public init(capacity: Int = 300) {
        self.capacity = max(1, capacity)
        ring.reserveCapacity(self.capacity)
        sequenceRing.reserveCapacity(self.capacity)
    }

    /// Records one result. O(1); no allocation once the ring is full.
    ///
    /// `sequence` numbers the check for `GET /v1/snapshot?health_after=N` (the manager passes one counter over
    /// all its targets, so a cursor of one target's history is never found in another's); it must be greater
    /// than the last one appended. Default: the history's own count (`totalChecks` after this append).
    public mutating func append(_ result: HealthCheckResult, sequence: Int? = nil) {
        let number = sequence ?? totalChecks + 1
        if ring.count < capacity {
            ring.append(result)
            sequenceRing.append(number)
        } else {
            ring[oldest] = result
            sequenceRing[oldest] = number
            oldest = (oldest + 1) % capacity
        }
        totalChecks += 1
        if result.healthy { healthyChecks += 1 }
        if currentStreak > 0 && streakHealthy == result.healthy {
            currentStreak += 1
        } else {
            currentStreak = 1
            streakHealthy = result.healthy
        }
    }

    /// Number of results in the window (≤ `capacity`).
    public var count: Int { ring.count }

    /// The most recent result, `nil` before the first check.
    public var latest: HealthCheckResult? {
        guard !ring.isEmpty else { return nil }
        return ring.count < capacity ? ring[ring.count - 1] : ring[(oldest + capacity - 1) % capacity]
    }

    /// The window's results, oldest first.
    public var results: [HealthCheckResult] {
        guard ring.count == capacity, oldest != 0 else { return ring }
        var ordered: [HealthCheckResult] = []
        ordered.reserveCapacity(capacity)
        ordered.append(contentsOf: ring[oldest...])
        ordered.append(contentsOf: ring[..<oldest])
        return ordered
    }

    /// The window's sequence numbers, oldest first (parallel to ``results``).
    public var sequences: [Int] {
        guard sequenceRing.count == capacity, oldest != 0 else { return sequenceRing }
        return Array(sequenceRing[oldest...]) + Array(sequenceRing[..<oldest])
    }

    /// Counters over all checks ever; average and p95 over the healthy checks in the window.
    public var stats: HealthStats {
        var times: [Double] = []
        times.reserveCapacity(ring.count)
        for result in ring where result.healthy { times.append(result.responseTime) }
        times.sort()
        let average = times.isEmpty ? 0 : times.reduce(0, +) / Double(times.count)
        return HealthStats(
            totalChecks: totalChecks,
            healthyChecks: healthyChecks,
            failedChecks: totalChecks - healthyChecks,
            successRate: totalChecks == 0 ? 1 : Double(healthyChecks) / Double(totalChecks),
            avgResponseTime: average,
            p95ResponseTime: Self.percentile(0.95, ofSorted: times),
            currentStreak: currentStreak,
            streakHealthy: streakHealthy
        )
    }

    /// Nearest-rank percentile: the smallest value with at least `fraction` of the values ≤ it.
    ///
    /// `fraction` in 0...1; `sorted` must be ascending. Returns 0 for an empty array.
    /// Nearest rank (no interpolation) so the answer is always a response time that was really measured.
    public static func percentile(_ fraction: Double, ofSorted sorted: [Double]) -> Double {
        guard !sorted.isEmpty else { return 0 }
        // The epsilon keeps 0.95 × 20 (= 19.000000000000004 in binary) at rank 19, not 20.
        let rank = Int((fraction * Double(sorted.count) - 1e-9).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
