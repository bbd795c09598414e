import Dispatch
import Foundation
import Synchronization

/// A thread-safe PostgreSQL-style connection pool (SQLAlchemy `QueuePool` semantics, HikariCP speed).
///
/// A thin shell around `PoolStateMachine`: it locks, feeds the machine a fact, unlocks, and only then acts
/// (opens, pings, closes, wakes waiters, calls listeners). Nothing runs under the lock but the machine.
/// Blocking `checkout` parks the calling thread; `async` checkout suspends the task, and opens and pings made
/// for async callers run on the pool's own dispatch queue, never on the cooperative pool.
public final class ConnectionPool<Factory: PoolConnectionFactory>: @unchecked Sendable {
    // Safety: all mutable state is in `state` (PoolLock), `listeners` (Mutex) or atomics; `leaseWords` is allocated
    // once in init, freed in deinit and only accessed through atomic operations.
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
    /// Per slot: `seq << 1 | 1` while lease `seq` is out, `seq << 1` once given back. Makes checkin idempotent
    /// without taking the lock before `reset` (which must never touch a connection someone else holds).
    let leaseWords: UnsafeMutablePointer<Atomic<UInt64>>
    let slotCount: Int
    /// Where connections given back wait for the next checkout without a lock (see `FastLane`).
    let lane: FastLane<Connection>
    /// The machine's recycle/pre-ping rule, for the lane's loans.
    let reuse: ReuseRule
    /// Timers (deadlines of async waiters, the breaker's retry), each a short machine step; blocking work goes to
    /// `blockingIO`. Serial, so that on Linux it has a thread of its own: on a concurrent queue the timers shared
    /// Dispatch's one-thread-per-core pool with whatever else the process blocks there, and a task's 300 ms pool
    /// timeout was seen not to fire for over 10 s in the full test suite.
    let queue: DispatchQueue
    let ioLabel: String
    let listeners = Mutex<[(PoolListenerToken, PoolListener<Connection>)]>([])
    let listenerCount = Atomic<Int>(0)
    /// The owner's hook for a detected server restart. Not a listener: any listener makes every checkout and
    /// checkin take the listeners' lock (a 64-thread checkout loop went from 11 M to 0.1 M ops/s with one).
    let serverRestartHandler = Mutex<(@Sendable (_ generation: Int) -> Void)?>(nil)
    let nextListenerToken = Atomic<Int>(0)
    let hasConnectedOnce = Atomic<Bool>(false)
    private let timeoutNanoseconds: Int64
    private let wallAtStart: Date
    private let monotonicAtStart: Int64

    /// A lazy pool: nothing is opened until the first checkout (or `prefill()`).
    /// - Parameter label: names the pool's timer queue and its I/O threads (opens and pings of async callers).
    public init(configuration: PoolConfiguration, factory: Factory, label: String = "pooltop.pool") {
        let clamped = configuration.clamped
        self.configuration = clamped
        self.factory = factory
        state = PoolLock(Machine(configuration: clamped, seed: UInt64.random(in: .min ... .max)))
        slotCount = clamped.poolSize + clamped.maxOverflow
        leaseWords = .allocate(capacity: slotCount)
        for index in 0..<slotCount { (leaseWords + index).initialize(to: Atomic(0)) }
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
        let leased = state.withLock { $0.leasedCount }
        assert(leased == 0, "a ConnectionPool was released while \(leased) lease(s) were still out")
        let actions = state.withLock { $0.shutdown() }
        for connection in actions.close { factory.close(connection) }
        leaseWords.deinitialize(count: slotCount)
        leaseWords.deallocate()
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
        var action = withMachine {
            $0.leaseRequested(context: context, waiter: nil, preferredSlot: preferred, now: now)
        }
        if case .needsWaiter(let id) = action {
            let waiter = Waiter.thread(thread.parker)
            let checkAt: Int64?
            (action, checkAt) = withMachine { machine in
                let action = machine.leaseRequested(
                    context: context, waiter: waiter, retries: true, requestID: id, now: now)
                return (action, machine.armStarvationCheck(now: now))
            }
            if let checkAt { scheduleStarvationCheck(at: checkAt) }
        } else if case .leased(let lent) = action, !lent.needsPing {
            return makeLease(lent)
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
        if lease.isLane {
            guard lane.beginReturn(slot, seq: lease.seq) else { return }
        } else {
            let leased = lease.seq << 1 | 1
            // Who wins: one checkin of a machine lease. Acquire: pairs with `makeLease`'s releasing store, so a
            // checkin on another thread reads the `prepare`d facts (`holdSince`, the epoch `mayPark` compares).
            guard
                leaseWords[slot].compareExchange(
                    expected: leased, desired: lease.seq << 1, ordering: .acquiringAndReleasing
                ).exchanged
            else { return }
        }
        let isUsable = factory.reset(lease.connection)
        notify { $0.onCheckin?(lease.connection) }
        let block = lane.block(slot)
        // The holder's record stays until the next lane checkout overwrites it: observers tell by the state word.
        let heldSince = block.pointee.holdSince.load(ordering: .relaxed)
        // The precise clock when a hold time is sampled or requests wait (the waker heuristics need it);
        // otherwise the coarse one (idle ages are compared with thresholds of seconds).
        let isPrecise = heldSince != .min || lane.waiterCount.load(ordering: .relaxed) != 0
        let now = isPrecise ? MonotonicClock.now : MonotonicClock.coarse
        let habits = ThreadContext.currentHabits
        habits.pointee.noteCheckin(pool: ObjectIdentifier(self), slot: slot, now: now, isPrecise: isPrecise)
        let returnsSoon = habits.pointee.returnsSoon
        if isUsable && lane.mayPark(slot) {
            if heldSince != .min { lane.recordHold(slot, now - heldSince) }
            lane.park(slot, now: habits.pointee.nextParkStamp(now))
            afterPark(slot, returnsSoon: returnsSoon)
            return
        }
        let seq = lease.isLane ? lane.leave(slot, seq: lease.seq) : lease.seq
        let action = withMachine {
            $0.connectionReleased(slot: slot, seq: seq, isUsable: isUsable, now: now, heldSince: heldSince)
        }
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

    // MARK: The lock-free lane

    @inline(__always)
    func preferredSlot(_ habits: UnsafeMutablePointer<ThreadContext.Habits>) -> Int {
        habits.pointee.preferredSlot(in: ObjectIdentifier(self))
    }

    /// The checks the machine makes at checkout, on a claimed lane slot: a connection older than `poolRecycle`
    /// is closed, one idle longer than the pre-ping threshold is pinged (and closed if dead). False when it was
    /// closed (the machine got the slot back). Pings on this thread: only for threads (tasks use `laneCheck`).
    @inline(__always)
    func laneClaimIsUsable(_ claim: FastLane<Connection>.Claim, now: Int64) -> Bool {
        switch laneCheck(claim, now: now) {
        case .usable: return true
        case .closed: return false
        case .needsPing: return pingedClaimIsUsable(claim, isAlive: factory.ping(claimedConnection(claim)), now: now)
        }
    }

    enum LaneCheck { case usable, closed, needsPing }

    /// The checks of `laneClaimIsUsable` without the ping: `.needsPing` leaves it to the caller.
    @inline(__always)
    func laneCheck(_ claim: FastLane<Connection>.Claim, now: Int64) -> LaneCheck {
        let block = lane.block(claim.slot)
        if reuse.isTooOld(openedAt: block.pointee.openedAt.load(ordering: .relaxed), now: now) {
            giveClaimToMachine(claim, isUsable: false, isRecycled: true, now: now)
            return .closed
        }
        if reuse.needsPing(idleSince: block.pointee.idleSince.load(ordering: .relaxed), now: now) { return .needsPing }
        return .usable
    }

    func claimedConnection(_ claim: FastLane<Connection>.Claim) -> Connection {
        lane.connection(claim.slot).takeUnretainedValue()
    }

    /// After the pre-ping of a claimed lane slot: a dead connection goes back to the machine (closed).
    func pingedClaimIsUsable(_ claim: FastLane<Connection>.Claim, isAlive: Bool, now: Int64) -> Bool {
        if isAlive { return true }
        giveClaimToMachine(claim, isUsable: false, isRecycled: false, now: now)
        return false
    }

    /// Turns a claimed (and checked) lane slot into a lease.
    @inline(__always)
    func laneLease(
        _ claim: FastLane<Connection>.Claim, habits: UnsafeMutablePointer<ThreadContext.Habits>,
        stack: CapturedStack?, now: Int64, isPrecise: Bool = true
    ) -> Lease {
        let slot = claim.slot
        let block = lane.block(slot)
        let connection = lane.connection(slot)
        FastLane<Connection>.bump(block.pointee.checkouts)
        // `.min`: a coarse checkout time, no hold-time sample for this lease.
        block.pointee.holdSince.store(isPrecise ? now : .min, ordering: .relaxed)
        block.pointee.leaseAt.store(now, ordering: .relaxed)
        // The record already names this thread and holds nothing else: leave it (and its lock) alone.
        let thread = habits.pointee.id
        if stack != nil || block.pointee.recordOwner.load(ordering: .relaxed) != thread {
            lane.withRecord(slot) { record in
                record.context = LeaseContext(threadName: habits.pointee.name, stack: stack)
                record.lastSQL = nil
                record.isExpectedLong = false
            }
            block.pointee.recordOwner.store(stack == nil ? thread : 0, ordering: .relaxed)
        }
        notify { $0.onCheckout?(connection.takeUnretainedValue()) }
        return Lease(
            connection: connection.takeUnretainedValue(),
            connectionID: block.pointee.connectionID.load(ordering: .relaxed), slot: slot,
            seq: claim.seq, isLane: true, pool: self)
    }

    /// A claimed lane slot that nobody will use goes back to the machine (closed when not usable).
    private func giveClaimToMachine(_ claim: FastLane<Connection>.Claim, isUsable: Bool, isRecycled: Bool, now: Int64) {
        _ = lane.beginReturn(claim.slot, seq: claim.seq)
        let seq = lane.leave(claim.slot, seq: claim.seq)
        let action = withMachine {
            $0.connectionReleased(
                slot: claim.slot, seq: seq, isUsable: isUsable, now: now, isCheckin: false, isRecycled: isRecycled)
        }
        act(on: action)
    }

    /// A claim nobody takes after all goes back to the lane as it was (its idle time kept).
    func returnClaimToLane(_ claim: FastLane<Connection>.Claim) {
        _ = lane.beginReturn(claim.slot, seq: claim.seq)
        lane.park(claim.slot, now: lane.block(claim.slot).pointee.idleSince.load(ordering: .relaxed), isCheckin: false)
        afterPark(claim.slot, returnsSoon: false)
    }

    /// After parking `slot`: if the lane closed or changed epoch meanwhile, the machine gets it back; if requests
    /// wait and this thread is not about to take it again, the oldest sleeping one is woken to try.
    @inline(__always)
    private func afterPark(_ slot: Int, returnsSoon: Bool) {
        // Both loads follow `park`'s sequentially consistent store: the parking side of FastLane's Dekker pairs
        // (1) `mayPark` against `withMachine` closing the lane or changing its epoch, then draining, and (2) the
        // `waiterCount` load against a request that starts waiting and then looks at the lane (`retry`).
        if !lane.mayPark(slot) {
            reclaim(slot)
            return
        }
        if lane.waiterCount.load(ordering: .sequentiallyConsistent) > 0, !returnsSoon {
            if let waiter = withMachine({ $0.laneConnectionParked() }) { wake(waiter) }
        }
    }

    /// Moves `slot` from the lane back to the machine if it is idle there (keeping when it became idle).
    func reclaim(_ slot: Int) {
        guard let seq = lane.reclaimIdle(slot) else { return }
        let idleSince = lane.block(slot).pointee.idleSince.load(ordering: .relaxed)
        let now = MonotonicClock.now
        let action = withMachine {
            $0.connectionReleased(
                slot: slot, seq: seq, isUsable: true, now: now, isCheckin: false, idleSince: min(idleSince, now))
        }
        act(on: action)
    }

    /// Gives every idle connection in the lane back to the machine (the lane closed or changed epoch).
    func drainLane() {
        for slot in 0..<slotCount { reclaim(slot) }
    }

    /// Runs `body` on the machine under its lock, then mirrors what the lane must know (is it open, which epoch,
    /// do requests wait). When the lane just closed or changed epoch, its idle connections go back to the
    /// machine (after the lock).
    @inline(__always)
    func withMachine<Result>(_ body: (inout Machine) -> Result) -> Result {
        // Under the lock: only here are `waiterCount`, `epoch` and `isOpen` written, so the relaxed loads read the
        // last store. The stores are sequentially consistent: the store half of FastLane's Dekker pairs (1) a lane
        // that closes or changes epoch, then drains (after the lock), against a `park` followed by `mayPark`, and
        // (2) a request that starts waiting, then looks at the lane (`retry`), against a park followed by
        // `afterPark`'s `waiterCount` load. Release stores would let both sides miss each other.
        let (result, drains) = state.withLock { machine -> (Result, Bool) in
            let result = body(&machine)
            let waiting = machine.waiters.count
            if lane.waiterCount.load(ordering: .relaxed) != waiting {
                lane.waiterCount.store(waiting, ordering: .sequentiallyConsistent)
            }
            var drains = false
            if lane.epoch.load(ordering: .relaxed) != machine.laneEpoch {
                lane.epoch.store(machine.laneEpoch, ordering: .sequentiallyConsistent)
                drains = true
            }
            let open = machine.laneMayLend(now: waiting == 0 ? 0 : MonotonicClock.now)
            if open != lane.isOpen.load(ordering: .relaxed) {
                lane.isOpen.store(open, ordering: .sequentiallyConsistent)
                if !open { drains = true }
            }
            return (result, drains)
        }
        if drains { drainLane() }
        return result
    }

    func act(on action: Machine.ReleaseAction) {
        switch action {
        case .none:
            return
        case .close(let connection):
            factory.close(connection)
        case .handOver(let lent, let waiter):
            resume(waiter, with: .success(lent))
        case .closeAndOpen(let connection, let open):
            factory.close(connection)
            blockingIO { _ = self.runOpen(open) }
        case .wake(let waiter):
            wake(waiter)
        }
    }

    // MARK: Blocking wait

    private enum Retry {
        case lease(Lease)
        case lent(LentConnection<Connection>)
        case wait
    }

    /// A waiting request tries again: the lane first, then the machine's idle connections.
    private func retry(_ id: PoolRequestID, thread: ThreadContext, stack: CapturedStack?) -> Retry {
        let now = MonotonicClock.now
        // The load half of FastLane's Dekker pair (2) on the waiting side: after this request's `waiterCount` store
        // (`withMachine`), before the claim's loads of the words. Those are relaxed; the hardware keeps them after
        // the store (x86: a sequentially consistent store is a locked xchg, a full barrier; ARMv8: this ldar is
        // ordered after the stlr and before later loads), though the C++ model proper would want them sequentially
        // consistent. Should both sides miss, this request sleeps until woken or until its starvation bound.
        if lane.isOpen.load(ordering: .sequentiallyConsistent),
            let claim = lane.claim(preferred: preferredSlot(ThreadContext.currentHabits)),
            laneClaimIsUsable(claim, now: now)
        {
            guard let actions = withMachine({ $0.waiterServedByLane(id, now: now) }) else {
                // Served or failed meanwhile (the result is on its way): the claim goes back to the lane.
                returnClaimToLane(claim)
                return .wait
            }
            run(actions, connectError: nil)
            return .lease(laneLease(claim, habits: ThreadContext.currentHabits, stack: stack, now: now))
        }
        if case .leased(let lent) = withMachine({ $0.waiterRetried(id, now: now) }) { return .lent(lent) }
        return .wait
    }

    private func waitBlocking(
        first: Result<LentConnection<Connection>, PoolError>?, id: PoolRequestID?, deadline: Int64,
        thread: ThreadContext, stack: CapturedStack?, since: Int64
    ) throws(PoolError) -> Lease {
        let parker = thread.parker
        var next = first
        var id = id
        // A queued request first looks at the lane once (a connection parked just before it queued), then
        // sleeps until it is handed a connection (also once it starves: the pool's starvation check closes the
        // lane for it), woken to retry, or past its deadline.
        var checkLane = first == nil && id != nil
        while true {
            let result: Result<LentConnection<Connection>, PoolError>
            if let next {
                result = next
            } else if checkLane, let id {
                checkLane = false
                switch retry(id, thread: thread, stack: stack) {
                case .lease(let lease): return lease
                case .lent(let lent): result = .success(lent)
                case .wait: continue
                }
            } else {
                switch parker.wait(until: deadline) {
                case .value(let value):
                    result = value as! Result<LentConnection<Connection>, PoolError>
                case .retry:
                    checkLane = true
                    continue
                case .timedOut:
                    let now = MonotonicClock.now
                    let actions = withMachine { machine in id.map { machine.leaseDeadlinePassed($0, now: now) } }
                    if let actions, let (_, reason) = actions.fail.first {
                        run(actions, connectError: nil, skipFailures: true)
                        throw error(for: reason, connectError: nil)
                    }
                    // Served just as the deadline passed: the connection is on its way.
                    result = parker.waitForValue() as! Result<LentConnection<Connection>, PoolError>
                }
            }
            next = nil
            let lent = try result.get()
            if !lent.needsPing || factory.ping(lent.connection) { return makeLease(lent) }
            let now = MonotonicClock.now
            let (actions, checkAt) = withMachine { machine in
                let actions = machine.pingFailed(lent, waiter: .thread(parker), retries: true, requestID: id, now: now)
                return (actions, machine.armStarvationCheck(now: now))
            }
            if let checkAt { scheduleStarvationCheck(at: checkAt) }
            id = actions.enqueued ?? id
            run(actions, connectError: nil, opensInline: true)
        }
    }

    // MARK: Acting on the machine's decisions

    /// A lease of a connection the machine lent (its facts go to the lane, where its checkin may park it).
    @inline(__always)
    func makeLease(_ lent: LentConnection<Connection>) -> Lease {
        lane.prepare(
            lent.slot, connection: lent.connection, connectionID: lent.connectionID, openedAt: lent.openedAt,
            machineSeq: lent.seq, checkedOutAt: lent.checkedOutAt, epoch: lent.laneEpoch)
        // Release: publishes `prepare`'s facts to the checkin's acquiring compare-and-swap (on any thread).
        leaseWords[lent.slot].store(lent.seq << 1 | 1, ordering: .releasing)
        notify { $0.onCheckout?(lent.connection) }
        return Lease(
            connection: lent.connection, connectionID: lent.connectionID, slot: lent.slot,
            seq: lent.seq,
            isLane: false, pool: self)
    }

    func resume(_ waiter: Waiter, with result: Result<LentConnection<Connection>, PoolError>) {
        switch waiter {
        case .thread(let parker): parker.resume(result)
        case .task(let parker): parker.resume(result)
        }
    }

    /// Wakes a waiting thread or task to retry its checkout (`waiterRetried`).
    func wake(_ waiter: Waiter) {
        switch waiter {
        case .thread(let parker): parker.wakeToRetry()
        case .task(let parker): parker.wakeToRetry()
        }
    }

    /// Closes, wakes and opens as the machine decided. Opens run on the pool's queue unless `opensInline`.
    /// `skipFailures`: the caller reports the (single) failure itself.
    func run(
        _ actions: Machine.Actions, connectError: (any Error)?, opensInline: Bool = false, skipFailures: Bool = false
    ) {
        for connection in actions.close { factory.close(connection) }
        if actions.serverRestarted {
            let generation = withMachine { $0.generation }
            notify { $0.onServerRestart?(generation) }
            serverRestartHandler.withLock { $0 }?(generation)
        }
        for (lent, waiter) in actions.handOver { resume(waiter, with: .success(lent)) }
        for waiter in actions.wake { wake(waiter) }
        if !skipFailures {
            for (waiter, reason) in actions.fail {
                resume(waiter, with: .failure(error(for: reason, connectError: connectError)))
            }
        }
        for open in actions.open {
            if opensInline {
                _ = runOpen(open)
            } else {
                blockingIO { _ = self.runOpen(open) }
            }
        }
        for (slot, connection) in actions.ping {
            blockingIO {
                let isAlive = self.factory.ping(connection)
                let now = MonotonicClock.now
                let next = self.withMachine { $0.keepalivePinged(slot: slot, isAlive: isAlive, now: now) }
                self.run(next, connectError: nil)
            }
        }
        if let at = actions.retryAt { scheduleConnectRetry(at: at) }
    }

    /// Runs blocking I/O for the pool (an open, a ping) on a thread of its own: a fresh serial queue, which on
    /// Linux Dispatch backs with a new thread when the others are busy. The pool's concurrent `queue` stops at
    /// about one thread per core there, so opens and pings on it ran two at a time and a connect hanging on a
    /// stopped server held up the deadline timers behind it. At most one job per slot is in flight.
    func blockingIO(_ work: @escaping @Sendable () -> Void) {
        DispatchQueue(label: ioLabel).async(execute: work)
    }

    /// Runs the pool's starvation check at monotonic time `at` (`PoolStateMachine.armStarvationCheck`): one machine
    /// step, after which the lane's mirror is closed if the oldest waiter starves; re-armed while requests wait.
    func scheduleStarvationCheck(at: Int64) {
        let delay = max(0, at - MonotonicClock.now)
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(delay))) { [weak self] in
            guard let self else { return }
            let now = MonotonicClock.now
            if let next = self.withMachine({ $0.starvationCheckDue(now: now) }) {
                self.scheduleStarvationCheck(at: next)
            }
        }
    }

    /// Tells the machine at monotonic time `at` that the breaker's backoff may have ended (its trial open then
    /// runs on the pool's queue, never on a caller's thread).
    func scheduleConnectRetry(at: Int64) {
        let delay = max(0, at - MonotonicClock.now)
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(delay))) { [weak self] in
            guard let self else { return }
            let now = MonotonicClock.now
            let actions = self.withMachine { $0.connectRetryDue(now: now) }
            self.run(actions, connectError: nil)
        }
    }

    /// Opens a connection for `open` on this thread and reports the outcome; returns the error if it failed.
    @discardableResult
    func runOpen(_ open: Machine.OpenRequest) -> (any Error)? {
        let connection: Connection
        do {
            connection = try factory.open(deadline: .now + configuration.connectTimeout)
        } catch {
            let now = MonotonicClock.now
            let isPermanent = factory.isPermanentConnectError(error)
            let actions = withMachine {
                $0.connectionOpenFailed(slot: open.slot, error: error, isPermanent: isPermanent, now: now)
            }
            run(actions, connectError: error)
            return error
        }
        let pid = factory.backendPID(connection)
        let identity = open.checkIdentity ? factory.serverIdentity(connection) : nil
        // Listeners see the connection before anyone can use it.
        notify { $0.onConnect?(connection) }
        if !hasConnectedOnce.exchange(true, ordering: .relaxed) {
            notify { $0.onPoolConnect?(connection) }
        }
        let now = MonotonicClock.now
        let actions = withMachine {
            $0.connectionOpened(slot: open.slot, connection: connection, backendPID: pid, identity: identity, now: now)
        }
        run(actions, connectError: nil)
        return nil
    }

    func error(for reason: PoolFailureReason, connectError: (any Error)?) -> PoolError {
        switch reason {
        case .timedOut(let waited, let snapshot): .timedOut(waited: waited, metrics: laneAdjusted(snapshot).resolved())
        case .connectFailed: .connectFailed(underlying: connectError ?? PoolConnectError.unknown)
        case .connectBackoff(let lastError, let retryAt):
            .connectBackoff(lastError: lastError, retryAt: wallDate(monotonic: retryAt))
        case .shutDown: .shutDown
        case .cancelled: .cancelled
        }
    }

    /// Converts a monotonic time of this process to wall-clock time.
    func wallDate(monotonic: Int64) -> Date {
        wallAtStart.addingTimeInterval(Double(monotonic - monotonicAtStart) / 1e9)
    }
}

/// Stand-in when a connect failure reaches a waiter without the factory's error (should not happen).
enum PoolConnectError: Error, CustomStringConvertible {
    case unknown
    var description: String { "the connection attempt failed for an unknown reason." }
}
