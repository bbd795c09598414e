import Dispatch
import Foundation
import Synchronization

/// How a thread waits for a connection: parked until handed one, woken to retry, or past its deadline.
extension ConnectionPool {
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
            guard let served = withMachine({ $0.waiterServedByLane(id, now: now) }) else {
                // Served or failed meanwhile (the result is on its way): the claim goes back to the lane.
                returnClaimToLane(claim)
                return .wait
            }
            run(served.actions, connectError: nil)
            return .lease(
                laneLease(claim, habits: ThreadContext.currentHabits, stack: stack, now: now, waited: served.waited))
        }
        if case .leased(let lent) = withMachine({ $0.waiterRetried(id, now: now) }) { return .lent(lent) }
        return .wait
    }

    func waitBlocking(
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
            if !lent.needsPing || factory.ping(lent.connection) {
                return makeLease(lent, context: LeaseContext(threadName: thread.name, stack: stack))
            }
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
}
