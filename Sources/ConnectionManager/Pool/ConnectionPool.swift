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
        case task(CheckedContinuation<Result<LentConnection<Connection>, PoolError>, Never>)
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
    let queue: DispatchQueue
    let listeners = Mutex<[(PoolListenerToken, PoolListener<Connection>)]>([])
    let listenerCount = Atomic<Int>(0)
    let nextListenerToken = Atomic<Int>(0)
    let hasConnectedOnce = Atomic<Bool>(false)
    private let timeoutNanoseconds: Int64
    private let wallAtStart: Date
    private let monotonicAtStart: Int64

    /// A lazy pool: nothing is opened until the first checkout (or `prefill()`).
    /// - Parameter label: names the pool's dispatch queue (for opens and pings of async callers).
    public init(configuration: PoolConfiguration, factory: Factory, label: String = "pooltop.pool") {
        let clamped = configuration.clamped
        self.configuration = clamped
        self.factory = factory
        state = PoolLock(Machine(configuration: clamped))
        slotCount = clamped.poolSize + clamped.maxOverflow
        leaseWords = .allocate(capacity: slotCount)
        for index in 0..<slotCount { (leaseWords + index).initialize(to: Atomic(0)) }
        queue = DispatchQueue(label: label, attributes: .concurrent)
        timeoutNanoseconds = clamped.poolTimeout.nanoseconds
        wallAtStart = Date()
        monotonicAtStart = MonotonicClock.now
    }

    deinit {
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
    /// Waiters are served first come, first served. May open a connection (on this thread) or ping an idle
    /// one first. Give the lease back with `checkin(_:)`.
    /// - Parameter captureStack: record the caller's stack in its `CheckoutRecord` (≈ 5 µs).
    /// - Throws: `.timedOut` when the pool stayed saturated, `.connectFailed` when the open this checkout caused
    ///   failed, `.shutDown`.
    public func checkout(timeout: Duration? = nil, captureStack: Bool = false) throws(PoolError) -> Lease {
        let context = LeaseContext(
            threadName: ThreadContext.currentName, stack: captureStack ? CapturedStack.capture(skip: 1) : nil)
        let now = MonotonicClock.now
        let deadline = now &+ (timeout?.nanoseconds ?? timeoutNanoseconds)
        // First without a waiter (no retain of the parker on the hot path); again with one if it must wait.
        var action = state.withLock { $0.leaseRequested(context: context, waiter: nil, now: now) }
        let thread: ThreadContext
        if case .needsWaiter(let id) = action {
            thread = ThreadContext.current
            let waiter = Waiter.thread(thread.parker)
            action = state.withLock {
                $0.leaseRequested(context: context, waiter: waiter, retries: true, requestID: id, now: now)
            }
        } else if case .leased(let lent) = action, !lent.needsPing {
            return makeLease(lent)  // the hot path
        } else {
            thread = ThreadContext.current
        }
        switch action {
        case .leased(let lent):
            return try waitBlocking(first: .success(lent), id: nil, deadline: deadline, parker: thread.parker)
        case .open(let id, let open):
            _ = runOpen(open)
            return try waitBlocking(first: nil, id: id, deadline: deadline, parker: thread.parker)
        case .replace(let old, let id, let open):
            factory.close(old)
            _ = runOpen(open)
            return try waitBlocking(first: nil, id: id, deadline: deadline, parker: thread.parker)
        case .wait(let id):
            return try waitBlocking(first: nil, id: id, deadline: deadline, parker: thread.parker)
        case .shutDown:
            throw .shutDown
        case .needsWaiter:
            preconditionFailure("the state machine asked for a waiter although one was given")
        }
    }

    /// Gives a lease back. Idempotent: a second checkin of the same lease does nothing.
    ///
    /// Resets the connection (rolls back an open transaction) on this thread; a broken connection, one of an
    /// older generation or one above `poolSize` is closed; otherwise it goes to the oldest waiter or back idle.
    public func checkin(_ lease: Lease) {
        let leased = lease.seq << 1 | 1
        guard
            leaseWords[lease.slot].compareExchange(
                expected: leased, desired: lease.seq << 1, ordering: .acquiringAndReleasing
            ).exchanged
        else { return }
        let isUsable = factory.reset(lease.connection)
        notify { $0.onCheckin?(lease.connection) }
        let now = MonotonicClock.now
        let action = state.withLock {
            $0.connectionReleased(slot: lease.slot, seq: lease.seq, isUsable: isUsable, now: now)
        }
        switch action {
        case .none:
            return
        case .close(let connection):
            factory.close(connection)
        case .handOver(let lent, let waiter):
            resume(waiter, with: .success(lent))
        case .closeAndOpen(let connection, let open):
            factory.close(connection)
            queue.async { _ = self.runOpen(open) }
        case .wake(let waiter):
            wake(waiter)
        }
    }

    /// Checks out, runs `body`, and checks in (also when `body` throws).
    public func withConnection<Result>(
        timeout: Duration? = nil, captureStack: Bool = false, _ body: (Lease) throws -> Result
    ) throws -> Result {
        let lease = try checkout(timeout: timeout, captureStack: captureStack)
        defer { checkin(lease) }
        return try body(lease)
    }

    // MARK: Blocking wait

    private func waitBlocking(
        first: Result<LentConnection<Connection>, PoolError>?, id: PoolRequestID?, deadline: Int64,
        parker: ThreadParker
    ) throws(PoolError) -> Lease {
        var next = first
        var id = id
        while true {
            let result: Result<LentConnection<Connection>, PoolError>
            if let next {
                result = next
            } else {
                switch parker.wait(until: deadline) {
                case .value(let value):
                    result = value as! Result<LentConnection<Connection>, PoolError>
                case .retry:
                    // Woken to retry: take an idle connection, or sleep again keeping our place.
                    guard let id else { continue }
                    let now = MonotonicClock.now
                    guard case .leased(let lent) = state.withLock({ $0.waiterRetried(id, now: now) }) else { continue }
                    result = .success(lent)
                case .timedOut:
                    let now = MonotonicClock.now
                    let actions = state.withLock { machine in id.map { machine.leaseDeadlinePassed($0, now: now) } }
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
            let actions = state.withLock {
                $0.pingFailed(lent, waiter: .thread(parker), retries: true, requestID: id, now: now)
            }
            id = actions.enqueued ?? id
            run(actions, connectError: nil, opensInline: true)
        }
    }

    // MARK: Acting on the machine's decisions

    @inline(__always)
    func makeLease(_ lent: LentConnection<Connection>) -> Lease {
        leaseWords[lent.slot].store(lent.seq << 1 | 1, ordering: .releasing)
        notify { $0.onCheckout?(lent.connection) }
        return Lease(
            connection: lent.connection, connectionID: lent.connectionID, slot: lent.slot, seq: lent.seq, pool: self)
    }

    func resume(_ waiter: Waiter, with result: Result<LentConnection<Connection>, PoolError>) {
        switch waiter {
        case .thread(let parker): parker.resume(result)
        case .task(let continuation): continuation.resume(returning: result)
        }
    }

    /// Wakes a parked thread to retry its checkout (`waiterRetried`). Tasks are never woken, only resumed.
    func wake(_ waiter: Waiter) {
        switch waiter {
        case .thread(let parker): parker.wakeToRetry()
        case .task: assertionFailure("the state machine woke a task waiter to retry")
        }
    }

    /// Closes, wakes and opens as the machine decided. Opens run on the pool's queue unless `opensInline`.
    /// `skipFailures`: the caller reports the (single) failure itself.
    func run(
        _ actions: Machine.Actions, connectError: (any Error)?, opensInline: Bool = false, skipFailures: Bool = false
    ) {
        for connection in actions.close { factory.close(connection) }
        if actions.serverRestarted {
            let generation = state.withLock { $0.generation }
            notify { $0.onServerRestart?(generation) }
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
                queue.async { _ = self.runOpen(open) }
            }
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
            let actions = state.withLock { $0.connectionOpenFailed(slot: open.slot, now: now) }
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
        let actions = state.withLock {
            $0.connectionOpened(slot: open.slot, connection: connection, backendPID: pid, identity: identity, now: now)
        }
        run(actions, connectError: nil)
        return nil
    }

    func error(for reason: PoolFailureReason, connectError: (any Error)?) -> PoolError {
        switch reason {
        case .timedOut(let waited, let snapshot): .timedOut(waited: waited, metrics: snapshot.resolved())
        case .connectFailed: .connectFailed(underlying: connectError ?? PoolConnectError.unknown)
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
