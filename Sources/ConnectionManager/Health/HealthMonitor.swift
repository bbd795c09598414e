import Dispatch
import Foundation
import Synchronization

/// Runs health checks on a timer and keeps a `HealthHistory` per target: the thin I/O shell.
///
/// Every `interval` it checks the current target; every `otherTargetsEvery` ticks (and on the first one) it
/// also checks all the others, so failover always knows every target's role and health. `checkNow()` and
/// `probe(_:)` ask for extra checks, coalesced: at most one batch is queued, and batches start at least
/// `probeSpacing` apart, so a storm of failing checkouts costs a few checks, not one per checkout. The check itself is injected and may block (it runs libpq
/// under its own deadline); all checks run one after another on the monitor's private serial queue, so the
/// check closure is never called concurrently with itself.
///
/// Lifecycle: created stopped → `start()` → running → `stop()` → stopped (and may be started again).
/// Threading: every method may be called from any thread. `onResult` runs on the monitor's queue, outside
/// the monitor's lock. Do not call `stop()` while holding a lock that `onResult` takes: `stop()` waits for a
/// running check and its callback to finish.
public final class HealthMonitor: Sendable {
    /// Checks one target and reports the outcome; never throws (failures are `healthy == false` results).
    public typealias Check = @Sendable (HealthTarget) -> HealthCheckResult
    /// Receives each result after it was recorded.
    public typealias ResultHandler = @Sendable (HealthTarget, HealthCheckResult) -> Void

    /// All targets, indexed by `HealthTarget.index` (which must equal the position in this array).
    public let targets: [HealthTarget]
    /// Time between ticks.
    public let interval: Duration
    /// Every how many ticks the non-current targets are checked too; 0 = only when probed.
    public let otherTargetsEvery: Int
    /// Minimum time between the starts of two on-demand batches (`checkNow()` / `probe(_:)`).
    public let probeSpacing: Duration

    private let check: Check
    private let onResult: ResultHandler
    private let queue: DispatchQueue
    private let queueKey = DispatchSpecificKey<UInt8>()
    private let state: PoolLock<State>

    private struct State {
        var histories: [HealthHistory]
        var current: Int
        var isRunning = false
        var timer: DispatchSourceTimer?
        var ticks = 0
        /// Targets asked for by `checkNow()` / `probe(_:)` and not yet checked.
        var pending: Set<Int> = []
        /// A drain block is queued (further requests only add to `pending`).
        var isDrainQueued = false
        /// When the last on-demand batch started; the next one waits until `probeSpacing` after it.
        var lastDrainStartedAt: DispatchTime?
    }

    /// Creates a stopped monitor.
    ///
    /// - Parameters:
    ///   - targets: every target; `targets[i].index` must be `i`.
    ///   - current: index of the target in use (checked every tick); change it with `setCurrentTarget(_:)`.
    ///   - interval: time between ticks (e.g. `.seconds(1)`).
    ///   - otherTargetsEvery: check the other targets every this many ticks (default 10; 0 = only on probe).
    ///   - probeSpacing: minimum time between two on-demand batches (default 100 ms).
    ///   - historyCapacity: results kept per target (default 300).
    ///   - check: performs one check; blocking is fine, but keep it under a deadline shorter than `interval`.
    ///   - onResult: called after each result is recorded, on the monitor's queue.
    public init(
        targets: [HealthTarget], current: Int = 0, interval: Duration, otherTargetsEvery: Int = 10,
        probeSpacing: Duration = .milliseconds(100), historyCapacity: Int = 300, check: @escaping Check,
        onResult: @escaping ResultHandler = { _, _ in }
    ) {
        precondition(targets.enumerated().allSatisfy { $0.offset == $0.element.index }, "targets[i].index must be i")
        precondition(targets.indices.contains(current), "current must be a valid target index")
        self.targets = targets
        self.interval = interval
        self.otherTargetsEvery = max(0, otherTargetsEvery)
        self.probeSpacing = probeSpacing
        self.check = check
        self.onResult = onResult
        self.queue = DispatchQueue(label: "pooltop.health-monitor")
        self.state = PoolLock(
            State(histories: targets.map { _ in HealthHistory(capacity: historyCapacity) }, current: current))
        queue.setSpecific(key: queueKey, value: 1)
    }

    deinit {
        state.withLock { $0.timer?.cancel() }
    }

    /// Starts the timer; the first tick (checking every target) runs immediately. Does nothing if running.
    public func start() {
        let tickInterval = Self.dispatchInterval(interval)
        state.withLock { state in
            guard !state.isRunning else { return }
            state.isRunning = true
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now(), repeating: tickInterval)
            timer.setEventHandler { [weak self] in self?.tick() }
            timer.resume()
            state.timer = timer
        }
    }

    /// Cancels the timer and pending requests, then waits until a running check (and its `onResult`) is done.
    ///
    /// After it returns, `check` and `onResult` are not called again until the next `start()`.
    /// Safe to call more than once, and from `onResult` (it then cannot wait for itself and returns at once).
    public func stop() {
        state.withLock { state in
            state.isRunning = false
            state.timer?.cancel()
            state.timer = nil
            state.pending.removeAll()
        }
        if DispatchQueue.getSpecific(key: queueKey) == nil {
            queue.sync {}
        }
    }

    /// Whether the timer is running.
    public var isRunning: Bool { state.withLock { $0.isRunning } }

    /// Asks for an immediate check of the current target, asynchronously; bursts coalesce into one check.
    ///
    /// Call it when a checkout or query saw a connection-level failure. Ignored while stopped.
    public func checkNow() {
        let current = state.withLock { $0.current }
        probe([current])
    }

    /// Asks for an immediate check of these targets (e.g. for failover's `.probe`), asynchronously, coalesced.
    ///
    /// Runs at once, or `probeSpacing` after the previous on-demand batch started. Unknown indexes are ignored,
    /// and so is the whole call while stopped.
    public func probe(_ indexes: [Int]) {
        let spacing = Self.dispatchInterval(probeSpacing)
        let startAt = state.withLock { state -> DispatchTime? in
            guard state.isRunning else { return nil }
            state.pending.formUnion(indexes.filter(targets.indices.contains))
            guard !state.isDrainQueued, !state.pending.isEmpty else { return nil }
            state.isDrainQueued = true
            return state.lastDrainStartedAt.map { $0 + spacing } ?? .now()
        }
        if let startAt {
            queue.asyncAfter(deadline: startAt) { [weak self] in self?.drainPending() }
        }
    }

    /// Makes `index` the target checked on every tick (after a failover switched to it).
    public func setCurrentTarget(_ index: Int) {
        guard targets.indices.contains(index) else { return }
        state.withLock { $0.current = index }
    }

    /// The index of the target checked every tick.
    public var currentTarget: Int { state.withLock { $0.current } }

    /// A copy of one target's history (cheap: copy-on-write); compute `results` / `stats` on it outside locks.
    public func history(of index: Int) -> HealthHistory {
        state.withLock { $0.histories[index] }
    }

    /// Copies of all histories, indexed like `targets`.
    public func histories() -> [HealthHistory] {
        state.withLock { $0.histories }
    }

    // MARK: - On the monitor's queue

    private func tick() {
        let due = state.withLock { state -> [Int] in
            guard state.isRunning else { return [] }
            defer { state.ticks += 1 }
            var due = [state.current]
            // Tick 0 checks everyone so failover knows all roles right after start.
            if otherTargetsEvery > 0 && state.ticks % otherTargetsEvery == 0 {
                due += targets.indices.filter { $0 != state.current }
            }
            // Anything probed meanwhile is served by this pass too.
            due += state.pending.subtracting(due).sorted()
            state.pending.removeAll()
            return due
        }
        run(due)
    }

    private func drainPending() {
        let due = state.withLock { state -> [Int] in
            state.isDrainQueued = false
            guard state.isRunning else { return [] }
            state.lastDrainStartedAt = .now()
            defer { state.pending.removeAll() }
            return state.pending.sorted { a, b in
                // The current target first: it is what checkouts are waiting on.
                (a == state.current ? -1 : a) < (b == state.current ? -1 : b)
            }
        }
        run(due)
    }

    private func run(_ indexes: [Int]) {
        for index in indexes {
            // stop() may have been called during a long pass over several targets.
            guard state.withLock({ $0.isRunning }) else { return }
            let target = targets[index]
            let result = check(target)
            let isStillRunning = state.withLock { state -> Bool in
                state.histories[index].append(result)
                return state.isRunning
            }
            if isStillRunning {
                onResult(target, result)
            }
        }
    }

    private static func dispatchInterval(_ duration: Duration) -> DispatchTimeInterval {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !nanoseconds.overflow, nanoseconds.partialValue < Int64(Int.max) else { return .never }
        return .nanoseconds(max(1, Int(nanoseconds.partialValue + attoseconds / 1_000_000_000)))
    }
}
