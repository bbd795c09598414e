/// The benchmark contract's log-linear histogram: exact below 256 ns, then 128 sub-buckets per
/// power of two (each < 0.8 % wide). Same buckets and percentile rule as the peers in shared/bench.
struct LatencyHistogram {
    static let size = 64 * 128 + 256
    private(set) var buckets = [UInt64](repeating: 0, count: size)

    @inline(__always)
    mutating func record(_ nanoseconds: UInt64) {
        if nanoseconds < 256 {
            buckets[Int(nanoseconds)] &+= 1
            return
        }
        let shift = (64 - nanoseconds.leadingZeroBitCount) - 8
        buckets[shift * 128 + Int(nanoseconds >> UInt64(shift))] &+= 1
    }

    mutating func merge(_ other: LatencyHistogram) {
        for i in 0..<Self.size { buckets[i] &+= other.buckets[i] }
    }

    /// Midpoint (ns) of the first bucket whose cumulative count reaches ceil(q · n).
    func percentile(_ q: Double, count n: UInt64) -> Double {
        guard n > 0 else { return 0 }
        var rank = UInt64(q * Double(n))
        if Double(rank) < q * Double(n) { rank += 1 }
        rank = max(rank, 1)
        var cumulative: UInt64 = 0
        for i in 0..<Self.size {
            cumulative += buckets[i]
            if buckets[i] != 0 && cumulative >= rank {
                if i < 256 { return Double(i) }
                let shift = (i >> 7) - 1
                let width = Double(UInt64(1) << UInt64(shift))
                return Double((i & 127) + 128) * width + width / 2
            }
        }
        return 0
    }
}
