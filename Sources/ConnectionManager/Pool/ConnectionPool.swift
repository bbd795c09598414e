import Dispatch
import Foundation
import Synchronization

/// A thread-safe PostgreSQL-style connection pool (SQLAlchemy `QueuePool` semantics, HikariCP speed).
///
/// A thin shell around `PoolStateMachine`: it locks, feeds the machine a fact, unlocks, and only then acts
/// (opens, pings, closes, wakes waiters, calls listeners). Nothing runs under the lock but the machine.
/// Blocking `checkout` parks the calling thread; `async` checkout suspends the task, and opens and pings run on
/// `blockingIO` (a thread of their own), never on the cooperative pool.
public final class ConnectionPool<Factory: PoolConnectionFactory>: @unchecked Sendable {
    // Safety: all mutable state is in `state`, `listeners` and `serverRestartHandler` (PoolLocks) or atomics
    // (the lane's slot table among them: see `FastLane`'s own safety argument).
    public typealias Connection = Factory.Connection

    enum Waiter: Sendable {
        case thread(ThreadParker)
        case task(TaskParker<Result<LentConnection<Connection>, PoolError>>)
    }

    typealias Machine = PoolStateMachine<Connection, Waiter>

    /// The configuration in effect (clamped to valid values).
    public let configuration: PoolConfiguration
    public let factory: Factory
    let state: PoolLock<Machine>
    let slotCount: Int
    /// The slot table of loans (one word per slot says which loan holds it; the holder's record) and where
    /// connections given back wait for the next checkout without a lock (see `FastLane`).
    let lane: FastLane<Connection>
    /// The machine's recycle/pre-ping rule, for the lane's loans.
    let reuse: ReuseRule
    /// Timers (deadlines of async waiters, the breaker's retry), each a short machine step; blocking work goes to
    /// `blockingIO`. Serial, so that on Linux it has a thread of its own: on a concurrent queue the timers shared
    /// Dispatch's one-thread-per-core pool with whatever else the process blocks there, and a task's 300 ms pool
    /// timeout was seen not to fire for over 10 s in the full test suite.
    let queue: DispatchQueue
    let ioLabel: String
    let listeners = PoolLock<[(PoolListenerToken, PoolListener<Connection>)]>([])
    let listenerCount = Atomic<Int>(0)
    /// The owner's hook for a detected server restart. Not a listener: any listener makes every checkout and
    /// checkin take the listeners' lock (a 64-thread checkout loop went from 11 M to 0.1 M ops/s with one).
    let serverRestartHandler = PoolLock<(@Sendable (_ generation: Int) -> Void)?>(nil)
    let nextListenerToken = Atomic<Int>(0)
    let hasConnectedOnce = Atomic<Bool>(false)
    private let timeoutNanoseconds: Int64
    let wallAtStart: Date
    let monotonicAtStart: Int64

    /// A lazy pool: nothing is opened until the first checkout (or `prefill()`).
    /// - Parameter label: names the pool's timer queue and its I/O threads (opens and pings of async callers).
    public init(configuration: PoolConfiguration, factory: Factory, label: String = "pooltop.pool") {
        let clamped = configuration.clamped
        self.configuration = clamped
        self.factory = factory
        state = PoolLock(Machine(configuration: clamped, seed: UInt64.random(in: .min ... .max)))
        slotCount = clamped.poolSize + clamped.maxOverflow
        lane = FastLane(count: slotCount)
        // Relaxed: nobody else sees the pool before `init` returns (publishing it orders this store).
        lane.isOpen.store(true, ordering: .relaxed)
        reuse = ReuseRule(clamped)
        queue = DispatchQueue(label: label)
        ioLabel = label + ".io"
        timeoutNanoseconds = clamped.poolTimeout.nanoseconds
        wallAtStart = Date()
        monotonicAtStart = MonotonicClock.now
    }

    deinit {
        // As in `withMachine`: close, then drain (nobody else can park now, so no pair is needed).
        lane.isOpen.store(false, ordering: .sequentiallyConsistent)
        drainLane()
        let leased = state.withLock { $0.outCount }
        assert(leased == 0, "a ConnectionPool was released while \(leased) lease(s) were still out")
        let actions = state.withLock { $0.shutdown() }
        for connection in actions.close { factory.close(connection) }
    }

    // MARK: Checkout and checkin

    /// Lends a connection, blocking the calling thread up to `timeout` (default: `poolTimeout`).
    ///
    /// First from the lock-free lane (the connection this thread gave back last, else the most recently given
    /// back), else from the state machine: waiters are served first come, first served, with newcomers allowed
    /// to take a free connection first until the oldest waiter has waited `starvationThreshold()`. May open a
    /// connection (on this thread) or ping an idle one first. Give the lease back with `checkin(_:)`.
    /// - Parameter captureStack: record the caller's stack in its `CheckoutRecord` (≈ 0.1 µs).
    /// - Throws: `.timedOut` when the pool stayed saturated, `.connectBackoff` when connects kept failing and no
    ///   pooled connection came free in time (at once when nothing is open and they have failed for `poolTimeout`),
    ///   `.connectFailed` when the connect failed for good (wrong password), `.shutDown`.
    public func checkout(timeout: Duration? = nil, captureStack: Bool = false) throws(PoolError) -> Lease {
        let habits = ThreadContext.currentHabits
        let stack = captureStack ? CapturedStack.capture(skip: 1) : nil
        // Hints (relaxed): a stale `isOpen` lends a connection the closing drain would have taken back (it returns
        // through the machine, see FastLane's "Memory ordering"); a stale `waiterCount` only changes the clock read.
        if lane.isOpen.load(ordering: .relaxed), let claim = lane.claim(preferred: preferredSlot(habits)) {
            let time = habits.pointee.checkoutTime(waiting: lane.waiterCount.load(ordering: .relaxed) != 0)
            if laneClaimIsUsable(claim, now: time.now) {
                return laneLease(claim, habits: habits, stack: stack, now: time.now, isPrecise: time.isPrecise)
            }
        }
        let now = MonotonicClock.now
        habits.pointee.noteCheckout(now: now)
        let thread = ThreadContext.current
        let context = LeaseContext(threadName: thread.name, stack: stack)
        let deadline = now &+ (timeout?.nanoseconds ?? timeoutNanoseconds)
        let preferred = preferredSlot(habits)
        // First without a waiter (no retain of the parker on the hot path); again with one if it must wait.
        var action = withMachine { $0.leaseRequested(waiter: nil, preferredSlot: preferred, now: now) }
        if case .needsWaiter(let id) = action {
            let waiter = Waiter.thread(thread.parker)
            let checkAt: Int64?
            (action, checkAt) = withMachine { machine in
                let action = machine.leaseRequested(waiter: waiter, retries: true, requestID: id, now: now)
                return (action, machine.armStarvationCheck(now: now))
            }
            if let checkAt { scheduleStarvationCheck(at: checkAt) }
        } else if case .leased(let lent) = action, !lent.needsPing {
            return makeLease(lent, context: context)
        }
        switch action {
        case .leased(let lent):
            return try waitBlocking(
                first: .success(lent), id: nil, deadline: deadline, thread: thread, stack: stack, since: now)
        case .open(let id, let open):
            _ = runOpen(open)
            return try waitBlocking(first: nil, id: id, deadline: deadline, thread: thread, stack: stack, since: now)
        case .replace(let old, let id, let open):
            factory.close(old)
            _ = runOpen(open)
            return try waitBlocking(first: nil, id: id, deadline: deadline, thread: thread, stack: stack, since: now)
        case .wait(let id):
            return try waitBlocking(first: nil, id: id, deadline: deadline, thread: thread, stack: stack, since: now)
        case .waitForRetry(let id, let at):
            scheduleConnectRetry(at: at)
            return try waitBlocking(first: nil, id: id, deadline: deadline, thread: thread, stack: stack, since: now)
        case .failed(let reason):
            throw error(for: reason, connectError: nil)
        case .shutDown:
            throw .shutDown
        case .needsWaiter:
            preconditionFailure("the state machine asked for a waiter although one was given")
        }
    }

    /// Gives a lease back. Idempotent: a second checkin of the same lease does nothing.
    ///
    /// Resets the connection (rolls back an open transaction) on this thread. A usable connection is parked in
    /// the lock-free lane while it is open; otherwise the machine decides: a broken connection, one of an older
    /// generation or one above `poolSize` is closed, else it goes to the oldest waiter or back idle.
    public func checkin(_ lease: Lease) {
        let slot = lease.slot
        // Who wins: one checkin of a loan, whoever lent it (the slot's word, see `FastLane.beginReturn`).
        guard lane.beginReturn(slot, seq: lease.seq) else { return }
        let isUsable = factory.reset(lease.connection)
        notify { $0.onCheckin?(lease.connection) }
        let block = lane.block(slot)
        // The holder's record stays until the next checkout overwrites it: observers tell by the state word.
        let heldSince = block.pointee.holdSince.load(ordering: .relaxed)
        // The precise clock when a hold time is sampled or requests wait (the waker heuristics need it);
        // otherwise the coarse one (idle ages are compared with thresholds of seconds).
        let isPrecise = heldSince != .min || lane.waiterCount.load(ordering: .relaxed) != 0
        let now = isPrecise ? MonotonicClock.now : MonotonicClock.coarse
        let habits = ThreadContext.currentHabits
        habits.pointee.noteCheckin(pool: ObjectIdentifier(self), slot: slot, now: now, isPrecise: isPrecise)
        let returnsSoon = habits.pointee.returnsSoon
        lane.recordCheckin(slot, heldSince: heldSince, now: now)
        if isUsable && lane.mayPark(slot) {
            lane.park(slot, now: habits.pointee.nextParkStamp(now))
            afterPark(slot, returnsSoon: returnsSoon)
            return
        }
        lane.leave(slot, seq: lease.seq)
        let action = withMachine { $0.connectionReleased(slot: slot, isUsable: isUsable, now: now) }
        act(on: action)
    }

    /// Checks out, runs `body`, and checks in (also when `body` throws).
    public func withConnection<Result>(
        timeout: Duration? = nil, captureStack: Bool = false, _ body: (Lease) throws -> Result
    ) throws -> Result {
        let lease = try checkout(timeout: timeout, captureStack: captureStack)
        defer { checkin(lease) }
        return try body(lease)
    }
}
