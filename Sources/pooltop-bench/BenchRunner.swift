import Foundation

/// Runs the contract's closed loop on `threads` OS threads: 1 s warm-up, then `duration` measured
/// seconds; an op counts only if it started after the warm-up and ended before the end.
struct BenchRunner {
    struct Result {
        var ops: UInt64
        var errors: UInt64
        var histogram: LatencyHistogram
    }

    let threads: Int
    let duration: Double

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// `operation` returns true on success; it is called concurrently from every worker thread.
    func run(_ operation: @escaping @Sendable () -> Bool) -> Result {
        let t0 = Self.now()
        let warmEnd = t0 + 1_000_000_000
        let end = warmEnd + UInt64(duration * 1e9)
        let results = WorkerResults(count: threads)
        let group = DispatchGroup()
        for index in 0..<threads {
            group.enter()
            let thread = Thread {
                var tally = WorkerTally(warmEnd: warmEnd, end: end)
                while true {
                    let start = Self.now()
                    if start >= end { break }
                    let ok = operation()
                    tally.record(start: start, finish: Self.now(), ok: ok)
                }
                results.store(index, tally.result)
                group.leave()
            }
            thread.name = "bench-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        return results.merged()
    }
}

/// Per-worker results, written once by each worker and read after all joined.
private final class WorkerResults: @unchecked Sendable {
    // Safety: each slot is written by exactly one worker before `group.leave()`, read after `group.wait()`.
    private var slots: [BenchRunner.Result?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func store(_ index: Int, _ result: BenchRunner.Result) {
        lock.lock()
        slots[index] = result
        lock.unlock()
    }

    func merged() -> BenchRunner.Result {
        var total = BenchRunner.Result(ops: 0, errors: 0, histogram: LatencyHistogram())
        for case let r? in slots {
            total.ops += r.ops
            total.errors += r.errors
            total.histogram.merge(r.histogram)
        }
        return total
    }
}
