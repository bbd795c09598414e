/// One worker's counts in the contract's closed loop: an operation counts only if it started at or after the
/// warm-up's end and finished by the end; a failed one counts as an error, a successful one as an op with its
/// latency.
struct WorkerTally {
    let warmEnd: UInt64
    let end: UInt64
    private var histogram = LatencyHistogram()
    private var ops: UInt64 = 0
    private var errors: UInt64 = 0

    init(warmEnd: UInt64, end: UInt64) {
        self.warmEnd = warmEnd
        self.end = end
    }

    @inline(__always)
    mutating func record(start: UInt64, finish: UInt64, ok: Bool) {
        guard start >= warmEnd && finish <= end else { return }
        if ok {
            ops += 1
            histogram.record(finish - start)
        } else {
            errors += 1
        }
    }

    var result: BenchRunner.Result { BenchRunner.Result(ops: ops, errors: errors, histogram: histogram) }
}
