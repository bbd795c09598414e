import Foundation

/// The contract's closed loop on `tasks` concurrent Swift tasks (the PostgresNIO peer's shape): 1 s warm-up, then
/// `duration` measured seconds; an op counts only if it started after the warm-up and ended before the end.
struct TaskRunner {
    let tasks: Int
    let duration: Double
    /// The executor the tasks prefer (nil: Swift's global executor).
    let executor: (any TaskExecutor)?

    /// `operation` returns true on success; it is called concurrently from every task. Blocks the calling thread
    /// (not a thread of the cooperative pool) until every task has stopped.
    func run(_ operation: @escaping @Sendable () async -> Bool) -> BenchRunner.Result {
        let t0 = BenchRunner.now()
        let warmEnd = t0 + 1_000_000_000
        let end = warmEnd + UInt64(duration * 1e9)
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        let tasks = self.tasks
        let executor = self.executor
        Task {
            let merged = await withTaskGroup(of: BenchRunner.Result.self) { group in
                for _ in 0..<tasks {
                    // Without a preference, a plain child task: `addTask(executorPreference: nil)` gives the task
                    // an executor-preference record all the same, which every switch of executor then looks up
                    // under the task's status lock (0.7 µs a statement in `perf`).
                    if let executor {
                        group.addTask(executorPreference: executor) {
                            await Self.loop(until: end, countingFrom: warmEnd, operation)
                        }
                    } else {
                        group.addTask { await Self.loop(until: end, countingFrom: warmEnd, operation) }
                    }
                }
                var total = BenchRunner.Result(ops: 0, errors: 0, histogram: LatencyHistogram())
                for await r in group {
                    total.ops += r.ops
                    total.errors += r.errors
                    total.histogram.merge(r.histogram)
                }
                return total
            }
            box.set(merged)
            done.signal()
        }
        done.wait()
        return box.get()
    }
}

extension TaskRunner {
    /// One task's closed loop: operations that started at or after `warmEnd` and ended by `end` count.
    fileprivate static func loop(
        until end: UInt64, countingFrom warmEnd: UInt64, _ operation: @Sendable () async -> Bool
    ) async -> BenchRunner.Result {
        var tally = WorkerTally(warmEnd: warmEnd, end: end)
        while true {
            let start = BenchRunner.now()
            if start >= end { break }
            let ok = await operation()
            tally.record(start: start, finish: BenchRunner.now(), ok: ok)
        }
        return tally.result
    }
}

/// The merged result, written by the task group's parent before `done.signal()`, read after `done.wait()`.
private final class ResultBox: @unchecked Sendable {
    // Safety: one write then one read, ordered by the semaphore (and the lock, for the sanitizer's sake).
    private var result: BenchRunner.Result?
    private let lock = NSLock()

    func set(_ value: BenchRunner.Result) {
        lock.lock()
        result = value
        lock.unlock()
    }

    func get() -> BenchRunner.Result {
        lock.lock()
        defer { lock.unlock() }
        return result!
    }
}
