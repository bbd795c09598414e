/// Identifies one checkout request while it waits for a connection.
struct PoolRequestID: Hashable, Sendable, CustomStringConvertible {
    var rawValue: UInt64
    var description: String { "R\(rawValue)" }
}

/// The pool's brain: which connection goes to whom, what to open and close. A value with one `mutating func`
/// per fact that happened, returning what to do. No I/O, no locks, no clock: time comes in as monotonic
/// nanoseconds.
///
/// Lifecycle: `running` → `suspended` (by `suspend`) → `running` (by `resume`); either → `shutDown`
/// (by `shutdown`, final).
///
/// Slot states (there are `poolSize + maxOverflow` slots):
/// - `empty` → `connecting` (an open was requested).
/// - `connecting` → `out` (handed to a waiter) | `idle` (nobody waits) | `empty` (open failed, or the pool
///   shut down meanwhile).
/// - `idle` → `out` (checkout) | `connecting` (recycled at checkout) | `pinging` (keepalive) | `empty` (evicted,
///   invalidated, shut down, overflow past its idle lifetime).
/// - `pinging` → `idle` (alive) | `empty` (dead, or evicted/invalidated/shut down meanwhile).
/// - `out` → `idle` (given back) | `out` (handed straight to the oldest waiter) | `empty` (broken, stale,
///   evicted, overflow, shut down) | `connecting` (pre-ping failed: replaced for the same request).
///
/// The machine owns slots, not leases: an `out` slot's connection is the shell's, lent to a caller or parked in
/// the lock-free lane, and the lane's word for the slot is the one record of which (and of which loan: its seq).
/// Who holds it, since when, what it runs, how long it waited: the holder writes those in the slot's lane block
/// (`FastLane.Record`, its counters and rings), never here. The shell gives a slot back exactly once per loan
/// (the lane word's compare-and-swap decides), so the machine's give-back facts need no lease id.
///
/// Opening is gated by a `ConnectBreaker`: after a failed open no other starts until its backoff ends, then one
/// trial. Meanwhile requests that need a new connection wait — for a connection given back or the trial — unless
/// nothing is open to give back and the breaker has tripped (a permanent error, or failures for as long as the
/// pool timeout): then they fail at once with `.connectBackoff`.
///
/// Waiting (Go's `sync.Mutex` normal and starvation modes): a returned connection goes idle and the oldest
/// sleeping waiter that can retry (a parked thread) is woken to take it, keeping its place in the queue, while
/// running callers may take the idle connection first (barging: no context switch per checkout once a queue has
/// formed). A woken waiter that finds nothing idle sleeps again. Once the oldest waiter has waited
/// `starvationThreshold()`, returned connections are handed to it directly and newcomers queue behind it
/// (fairness bound). Threads and tasks both wait as waiters that retry (`retries`); a waiter that cannot retry
/// would always be handed connections directly, in FIFO order (the pool has none since tasks retry too: handed
/// every connection, a queue of tasks never drained — each checkout suspended behind connections reserved for
/// tasks not yet running).
///
/// Invariants (checked by `invariantViolation()` in tests): `idle + out + connecting + pinging + empty == slots`;
/// while running, idle connections outnumber woken waiters only if no waiter sleeps unwoken; a waiter with
/// `hasOpen` is the cause of exactly one connecting slot.
struct PoolStateMachine<Connection: AnyObject, Waiter> {
    enum Lifecycle: Equatable { case running, suspended, shutDown }

    struct Slot {
        enum State {
            case empty
            case connecting(cause: PoolRequestID?)
            case idle
            /// Lent: to a caller or the lock-free lane (the shell knows which).
            case out
            /// Taken out of the idle list for a keepalive ping (`keepalivePinged` brings it back).
            case pinging
        }
        var state: State = .empty
        var connection: Connection?
        var connectionID = 0
        var backendPID: Int32 = 0
        var generation = 0
        var openedAt: Int64 = 0
        var idleSince: Int64 = 0
        /// Set by `evictIdle` on a busy connection: close it when it comes back.
        var closeOnReturn = false
    }

    struct WaitingRequest {
        var id: PoolRequestID
        var waiter: Waiter
        var enqueuedAt: Int64
        /// Some connecting slot was opened for this request (its failure fails this request).
        var hasOpen: Bool
        /// The waiter can be woken to retry (`waiterRetried`); otherwise it is only ever handed a connection.
        var retries: Bool
        /// Woken to retry and not yet back (counted in `wokenCount`).
        var isWoken = false
        /// When the pool's deadline check fails it with `.timedOut` (monotonic ns; `.max`: never — a thread's
        /// request, which times out on its own clock). Set by `armDeadlineCheck`.
        var deadline = Int64.max
    }

    /// How long the oldest waiter may wait before returned connections are handed to it directly instead of
    /// going idle (or to the lock-free lane) for whoever comes first: `starvationThreshold()`, at least this
    /// (Go's `starvationThresholdNs` is 1 ms) and `starvationPerWaiterNanoseconds` per waiting request. Every
    /// waiter that starves costs a hand-over to a sleeping thread (a wake-up, and the connection unused until
    /// the scheduler runs that thread, up to milliseconds on a saturated machine), so the threshold sets how
    /// many hand-overs a saturated pool pays: waiters ÷ threshold a second, at most 12.5k (one per 80 µs) once the
    /// per-waiter part applies. Far below any pool timeout, so the tail stays bounded.
    /// The fairness bound's floor. Below about 5 ms, 64 threads on 10 connections lost nearly 40 % of their
    /// `select1` throughput (3 ms: 30.9k against 50.4k ops/s): each starving waiter costs a hand-over to a
    /// sleeping thread, and the lane is closed meanwhile (BENCHMARKS.md, "Fairness").
    static var starvationNanoseconds: Int64 { 5_000_000 }
    /// The bound grows by this per waiting request beyond the floor's 62. While the oldest starves, each release
    /// wakes a sleeping waiter: 29–36k hand-overs a second on the 2-core VM measured (256-thread `checkout` with
    /// every release a hand-over). With a fixed 5 ms, 246 waiters starved at 49k a second, faster than they could
    /// be served, and that workload fell from 3.0–4.5M to those 29–36k ops/s. At 80 µs per waiter they starve at most 12.5k a second.
    static var starvationPerWaiterNanoseconds: Int64 { 80_000 }
    /// The bound never exceeds this, however long the queue. Uncapped at 2 ms per waiter it reached about 108 ms
    /// with 54 waiters (64 threads on 10 connections), which was the p99 of `select1` in some runs.
    static var starvationCapNanoseconds: Int64 { 20_000_000 }

    let poolSize: Int
    let maxOverflow: Int
    /// When a connection is recycled or pinged before it is lent (the lane applies the same rule).
    let reuse: ReuseRule
    /// How long a request would wait at most: once connects have failed that long, waiting for one is pointless.
    let poolTimeoutNanoseconds: Int64
    let keepaliveNanoseconds: Int64?
    let minIdle: Int
    /// 0: overflow connections close when given back.
    let overflowIdleNanoseconds: Int64
    var breaker: ConnectBreaker
    /// The breaker deadline a `connectRetryDue` is scheduled for (0: none), so that one timer serves all waiters.
    var retryTimerAt: Int64 = 0
    /// When the armed starvation check runs (0: none armed), so that one timer serves all waiters.
    var starvationCheckAt: Int64 = 0
    /// When the armed deadline check runs (0: none armed): no later than any queued request's `deadline`, so that
    /// one timer serves every waiting task.
    var deadlineCheckAt: Int64 = 0

    var lifecycle = Lifecycle.running
    var generation = 0
    /// Changes when every connection must come back through the machine (eviction, a new generation, shutdown):
    /// the lane parks a connection only if it was lent in the current epoch.
    var laneEpoch = 0
    var slots: [Slot]
    /// Idle slots, most recently returned last (LIFO).
    var idle: [Int]
    /// Empty slots.
    var free: [Int]
    var waiters = RingBuffer<WaitingRequest>(capacity: 64)
    /// Slots in `out`.
    var outCount = 0
    var connectingCount = 0
    /// Slots in `pinging`.
    var pingingCount = 0
    /// Waiters woken to retry that have not come back yet.
    var wokenCount = 0
    var counters = Counters()
    var nextRequestID: UInt64 = 1
    var nextConnectionID = 1
    /// Ask the next open for the server identity (first open, or a connection was found dead).
    var needsIdentityCheck = true
    /// When a connection last came back broken (or failed its ping): the server may have restarted, so every
    /// connection idle since before then is pinged at its next checkout, whatever its idle time. The first dead one
    /// is replaced by an open that asks the server's identity, which finds a restart and invalidates the rest: a
    /// restart costs one error, not one per pooled connection.
    var suspectSince: Int64?
    /// The identity recorded at the first open (updated after a restart was detected).
    var serverIdentity: String?
    var hasConnectedOnce = false

    /// Facts of connections and requests (checkouts and checkins are counted by their holders, in the lane).
    struct Counters {
        var connectionsCreated = 0
        var connectionsClosed = 0
        var invalidations = 0
        var timeouts = 0
        /// Timeouts of requests that waited while the pool was suspended (not saturation).
        var timeoutsWhileSuspended = 0
        var connectFailures = 0
    }

    /// - Parameter seed: for the breaker's jitter (the shell passes a random one; tests a fixed one).
    init(configuration: PoolConfiguration, seed: UInt64 = 0x5EED) {
        let c = configuration.clamped
        poolSize = c.poolSize
        maxOverflow = c.maxOverflow
        reuse = ReuseRule(c)
        poolTimeoutNanoseconds = c.poolTimeout.nanoseconds
        keepaliveNanoseconds = c.keepalive?.nanoseconds
        minIdle = c.minIdle
        overflowIdleNanoseconds = c.overflowIdleTimeout.nanoseconds
        breaker = ConnectBreaker(seed: seed)
        let total = c.poolSize + c.maxOverflow
        slots = Array(repeating: Slot(), count: total)
        idle = []
        idle.reserveCapacity(total)
        free = Array((0..<total).reversed())
        free.reserveCapacity(total)
    }

    /// Idle, pinged and lent connections (connecting ones are counted apart).
    var openCount: Int { idle.count + outCount + pingingCount }

    mutating func takeConnectionID() -> Int {
        defer { nextConnectionID += 1 }
        return nextConnectionID
    }

    mutating func makeRequestID() -> PoolRequestID {
        defer { nextRequestID &+= 1 }
        return PoolRequestID(rawValue: nextRequestID)
    }

    // MARK: Hot path

    /// A caller wants a connection. Pass `waiter: nil` to try without one: when the request would have to
    /// wait, nothing changes and `.needsWaiter(id)` asks to call again with a waiter and that `requestID`.
    /// `retries`: the waiter may be woken to retry (a parked thread) instead of being handed a connection.
    mutating func leaseRequested(
        waiter: Waiter?, retries: Bool = false, requestID: PoolRequestID? = nil,
        preferredSlot: Int = -1, now: Int64
    ) -> LeaseAction {
        switch lifecycle {
        case .shutDown:
            return .shutDown
        case .running:
            // Barging: an idle connection goes to whoever comes first, unless the oldest waiter starves.
            if var slot = idle.last, waiters.isEmpty || !isOldestWaiterStarving(now: now) {
                var index = idle.count - 1
                if preferredSlot != slot, let preferred = idleIndex(of: preferredSlot) {
                    slot = preferredSlot
                    index = preferred
                }
                // While the breaker is open an old connection is better than none: recycling waits.
                if reuse.isTooOld(openedAt: slots[slot].openedAt, now: now), breaker.isClosed {
                    guard let waiter else { return .needsWaiter(requestID ?? makeRequestID()) }
                    idle.remove(at: index)
                    let old = takeConnection(slot, invalidated: true, freesSlot: false)
                    let id = requestID ?? makeRequestID()
                    slots[slot].state = .connecting(cause: id)
                    connectingCount += 1
                    waiters.append(
                        WaitingRequest(
                            id: id, waiter: waiter, enqueuedAt: now, hasOpen: true, retries: retries))
                    return .replace(close: old, id, makeOpen(slot))
                }
                idle.remove(at: index)
                return .leased(lend(slot, now: now, waited: 0, isFresh: false))
            }
            if let slot = free.last {
                guard let waiter else { return .needsWaiter(requestID ?? makeRequestID()) }
                let id = requestID ?? makeRequestID()
                guard breaker.mayOpen(now: now) else {
                    return enqueueWhileBackingOff(id, waiter: waiter, retries: retries, now: now)
                }
                free.removeLast()
                slots[slot].state = .connecting(cause: id)
                connectingCount += 1
                waiters.append(
                    WaitingRequest(
                        id: id, waiter: waiter, enqueuedAt: now, hasOpen: true, retries: retries))
                return .open(id, makeOpen(slot))
            }
        case .suspended:
            break
        }
        guard let waiter else { return .needsWaiter(requestID ?? makeRequestID()) }
        let id = requestID ?? makeRequestID()
        waiters.append(
            WaitingRequest(id: id, waiter: waiter, enqueuedAt: now, hasOpen: false, retries: retries))
        return .wait(id)
    }

    /// The connection lent in `slot` came back (from its holder, or from the lane where it was parked);
    /// `isUsable` is the factory's `reset` verdict. A slot that is not out changes nothing.
    /// - Parameters:
    ///   - isRecycled: closed for its age (`isUsable` false), not because it failed.
    ///   - idleSince: when it became idle, if before `now` (the lane gives back a connection parked there).
    mutating func connectionReleased(
        slot: Int, isUsable: Bool, now: Int64, isRecycled: Bool = false, idleSince: Int64? = nil
    ) -> ReleaseAction {
        guard slot >= 0, slot < slots.count, case .out = slots[slot].state else { return .none }
        outCount -= 1
        // Known alive as of now (its holder just used it and its reset passed): a hand-over below must not pre-ping
        // it for an idle time it never had. Without this, under a standing queue (tasks, or starving threads) every
        // connection was pinged on every hand-over once 500 ms had passed since it last sat idle.
        slots[slot].idleSince = idleSince ?? now

        let isStale = !isUsable || slots[slot].closeOnReturn || slots[slot].generation != generation
        if !isUsable && !isRecycled { suspectConnections(now: now) }
        if isStale || lifecycle == .shutDown {
            let connection = takeConnection(slot, invalidated: isStale)
            if lifecycle == .running, let open = openForWaiterWithoutOpen() {
                return .closeAndOpen(connection, open)
            }
            return .close(connection)
        }
        // `openCount` no longer includes this connection.
        let isOverflow = openCount >= poolSize
        if lifecycle == .running, !waiters.isEmpty {
            // Starvation mode (and waiters that cannot retry, and overflow connections that would close when idle):
            // hand over.
            if isOverflow || !waiters[0].retries || isOldestWaiterStarving(now: now) {
                let (lent, waiter) = serveOldestWaiter(slot: slot, now: now, isFresh: false)
                return .handOver(lent, to: waiter)
            }
        } else if isOverflow, overflowIdleNanoseconds == 0 {
            return .close(takeConnection(slot, invalidated: false))
        }
        // An overflow connection stays idle for its idle lifetime (`maintenanceDue` closes it after that): under a
        // steady load above `poolSize` it is reused instead of being opened and closed per checkout.
        slots[slot].state = .idle
        idle.append(slot)
        if waiters.isEmpty { return .none }
        switch nextWake(now: now) {
        case nil: return .none
        case .wake(let waiter): return .wake(waiter)
        case .handOver(let lent, let waiter): return .handOver(lent, to: waiter)
        }
    }

    /// A waiter woken to retry is back. Lends it an idle connection if there is one (it leaves the queue),
    /// else it keeps its place and sleeps again. `.notWaiting` when the request was already served or failed
    /// (its result is on the way) or the wake-up was stale.
    mutating func waiterRetried(_ id: PoolRequestID, now: Int64) -> RetryAction {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return .notWaiting }
        if waiters[index].isWoken {
            waiters[index].isWoken = false
            wokenCount -= 1
        }
        // Recycle age is not checked here (nor on a hand-over): only a newcomer's checkout recycles.
        guard lifecycle == .running, let slot = idle.popLast() else { return .wait }
        return .leased(serveWaiter(at: index, slot: slot, now: now, isFresh: false).0)
    }

    // MARK: The lock-free lane (see `FastLane`)

    /// The lane may lend the connections parked in it: the pool runs, is not above `poolSize` (overflow
    /// connections go through the machine, which closes them after their idle lifetime), and no waiter must be served first
    /// (a starving waiter, or one that cannot retry and is only ever handed a connection).
    /// While connects fail (the breaker is not closed) the lane does not lend either: the machine keeps a connection
    /// past its recycle age then (an old connection is better than none), and the lane's loans apply the same
    /// `ReuseRule` without knowing the breaker.
    func laneMayLend(now: Int64) -> Bool {
        guard lifecycle == .running, breaker.isClosed, openCount + connectingCount <= poolSize else { return false }
        guard !waiters.isEmpty else { return true }
        return waiters[0].retries && !isOldestWaiterStarving(now: now)
    }

    /// A connection was parked in the lane while requests wait: wake the oldest sleeping one that can retry,
    /// unless one is already awake.
    mutating func laneConnectionParked() -> Waiter? {
        guard lifecycle == .running, wokenCount == 0,
            let index = waiters.firstIndex(where: { !$0.isWoken && $0.retries })
        else { return nil }
        waiters[index].isWoken = true
        wokenCount += 1
        return waiters[index].waiter
    }

    /// Waiting request `id` got a connection from the lane: it leaves the queue (`waited`: how long it was in
    /// it, for the loan's record). `nil` when it no longer waits (served or failed meanwhile: the result is on
    /// its way to it).
    mutating func waiterServedByLane(_ id: PoolRequestID, now: Int64) -> (actions: Actions, waited: Int64)? {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
        let request = removeWaiter(at: index)
        var actions = Actions()
        wakeAll(now: now, into: &actions)
        return (actions, now - request.enqueuedAt)
    }

    // MARK: Helpers

    /// Where `slot` is in the idle list, if it is idle (searched from the most recently returned end).
    @inline(__always)
    func idleIndex(of slot: Int) -> Int? {
        guard slot >= 0, slot < slots.count, case .idle = slots[slot].state else { return nil }
        return idle.lastIndex(of: slot)
    }

    /// The oldest waiter has waited at least `starvationThreshold()` (starvation mode).
    @inline(__always)
    func isOldestWaiterStarving(now: Int64) -> Bool {
        guard !waiters.isEmpty else { return false }
        return now - waiters[0].enqueuedAt >= starvationThreshold()
    }

    /// The fairness bound now: `starvationNanoseconds`, or `starvationPerWaiterNanoseconds` per waiting request
    /// if that is more, at most `starvationCapNanoseconds`.
    @inline(__always)
    func starvationThreshold() -> Int64 {
        min(
            max(Self.starvationNanoseconds, Int64(waiters.count) &* Self.starvationPerWaiterNanoseconds),
            Self.starvationCapNanoseconds)
    }

    /// One step towards "no idle connection while a waiter sleeps unwoken": wakes the oldest sleeping waiter
    /// that can retry, or hands an idle connection to it when it cannot. `nil` when balanced.
    mutating func nextWake(now: Int64) -> Wake? {
        guard lifecycle == .running, idle.count > wokenCount,
            let index = waiters.firstIndex(where: { !$0.isWoken })
        else { return nil }
        if waiters[index].retries {
            waiters[index].isWoken = true
            wokenCount += 1
            return .wake(waiters[index].waiter)
        }
        let (lent, waiter) = serveWaiter(at: index, slot: idle.removeLast(), now: now, isFresh: false)
        return .handOver(lent, waiter)
    }

    /// A connection died: the others may be dead too (a server restart). Connections idle since before now are
    /// pinged at their next checkout, and the lane gives back what it holds so that they pass this check.
    mutating func suspectConnections(now: Int64) {
        needsIdentityCheck = true
        guard lifecycle != .shutDown else { return }
        suspectSince = now
        laneEpoch += 1
    }

    /// Lends the connection in `slot` (taken off the idle list, or just opened, by the caller).
    /// - Parameters:
    ///   - waited: how long the request waited (the shell records it with the loan).
    ///   - isFresh: just opened (never pinged first).
    mutating func lend(_ slot: Int, now: Int64, waited: Int64, isFresh: Bool) -> LentConnection<Connection> {
        let needsPing: Bool
        if isFresh {
            needsPing = false
        } else if let suspectSince, slots[slot].idleSince <= suspectSince {
            needsPing = true  // Idle when another connection was found dead (pre-ping or not).
        } else {
            needsPing = reuse.needsPing(idleSince: slots[slot].idleSince, now: now)
        }
        slots[slot].state = .out
        outCount += 1
        return LentConnection(
            slot: slot, connection: slots[slot].connection!, connectionID: slots[slot].connectionID,
            backendPID: slots[slot].backendPID, generation: slots[slot].generation, needsPing: needsPing,
            openedAt: slots[slot].openedAt, checkedOutAt: now, waited: waited, laneEpoch: laneEpoch)
    }

    /// Empties `slot` (idle or leased; the caller already adjusted the idle list / leased count) and returns
    /// its connection for closing. `freesSlot: false` when the caller reuses the slot for a replacement.
    mutating func takeConnection(_ slot: Int, invalidated: Bool, freesSlot: Bool = true) -> Connection {
        let connection = slots[slot].connection!
        slots[slot].connection = nil
        slots[slot].state = .empty
        slots[slot].closeOnReturn = false
        counters.connectionsClosed += 1
        if invalidated { counters.invalidations += 1 }
        if freesSlot { free.append(slot) }
        return connection
    }

    func makeOpen(_ slot: Int) -> OpenRequest {
        OpenRequest(slot: slot, checkIdentity: needsIdentityCheck)
    }
}

extension PoolStateMachine: Sendable where Connection: Sendable, Waiter: Sendable {}
extension PoolStateMachine.Slot: Sendable where Connection: Sendable {}
extension PoolStateMachine.WaitingRequest: Sendable where Waiter: Sendable {}
