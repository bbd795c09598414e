import Dispatch
import Foundation
import Synchronization

/// Acting on the machine's decisions, outside its lock: leases, wake-ups, closes, opens, pings and timers.
extension ConnectionPool {
    // MARK: Acting on the machine's decisions

    /// A lease of a connection the machine lent to the caller whose `context` this is: the loan starts in the
    /// slot table (`FastLane.lend`), where its checkin may park it.
    @inline(__always)
    func makeLease(_ lent: LentConnection<Connection>, context: LeaseContext) -> Lease {
        let seq = lane.lend(lent.slot, lent, context: context)
        notify { $0.onCheckout?(lent.connection) }
        return Lease(
            connection: lent.connection, connectionID: lent.connectionID, slot: lent.slot, seq: seq, pool: self)
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

    /// Closes, wakes and opens as the machine decided. Opens and pings run on `blockingIO`, opens inline instead with
    /// `opensInline` (a thread's own checkout, which waits for it anyway).
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
    /// Linux Dispatch backs with a new thread when the others are busy. A concurrent queue stops at about one
    /// thread per core there: when opens and pings ran on one, they ran two at a time and a connect hanging on a
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

    /// Runs the pool's deadline check at monotonic time `at` (`PoolStateMachine.armDeadlineCheck`): the waiting
    /// tasks whose deadline passed fail with `.timedOut`, and the check re-arms for the next deadline. One timer
    /// for every waiting task, re-armed only when a request's deadline comes before the armed one.
    func scheduleDeadlineCheck(at: Int64) {
        let delay = max(0, at - MonotonicClock.now)
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(delay))) { [weak self] in
            guard let self else { return }
            let now = MonotonicClock.now
            let (actions, next) = self.withMachine { $0.deadlineCheckDue(armedFor: at, now: now) }
            if let next { self.scheduleDeadlineCheck(at: next) }
            self.run(actions, connectError: nil)
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
        case .timedOut(let waited, let snapshot): .timedOut(waited: waited, metrics: withLoanFacts(snapshot).resolved())
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
