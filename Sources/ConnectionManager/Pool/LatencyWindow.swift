/// Latency percentiles over a window of samples (the lane keeps the windows: `FastLane.holdSamples`/`waitSamples`).
enum LatencyWindow {
    /// Percentiles in seconds over `samples` (nearest-rank). Sorts, so call it outside the pool's lock.
    static func summary(of samples: [Int64]) -> LatencySummary {
        guard !samples.isEmpty else { return LatencySummary() }
        let sorted = samples.sorted()
        func rank(_ fraction: Double) -> Double {
            let index = min(sorted.count - 1, max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))
            return Double(sorted[index]) / 1e9
        }
        return LatencySummary(
            p50: rank(0.50), p95: rank(0.95), p99: rank(0.99), max: Double(sorted[sorted.count - 1]) / 1e9,
            count: sorted.count)
    }
}
