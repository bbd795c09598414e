import Dispatch

extension ConnectionPool {
    /// Lends a connection, suspending the task (never blocking a cooperative thread) up to `timeout`
    /// (default: `poolTimeout`).
    ///
    /// Same order and errors as the blocking `checkout`; opens and pings run on I/O threads (`blockingIO`).
    /// Cancelling the task while it waits removes it from the queue and throws `.cancelled`.
    public func checkout(timeout: Duration? = nil, captureStack: Bool = false) async throws(PoolError) -> Lease {
        var habits = ThreadContext.currentHabits
        let stack = captureStack ? CapturedStack.capture(skip: 1) : nil
        var now = MonotonicClock.now
        habits.pointee.noteCheckout(now: now)
        if lane.isOpen.load(ordering: .relaxed), let claim = lane.claim(preferred: preferredSlot(habits)) {
            switch laneCheck(claim, now: now) {
            case .usable:
                return laneLease(claim, habits: habits, stack: stack, now: now)
            case .needsPing:
                // Never a round trip on a cooperative thread: the ping runs on an I/O thread.
                let connection = claimedConnection(claim)
                let isAlive = await withCheckedContinuation { continuation in
                    blockingIO { continuation.resume(returning: self.factory.ping(connection)) }
                }
                // Another thread now: its habits, and the time after the ping.
                habits = ThreadContext.currentHabits
                now = MonotonicClock.now
                if pingedClaimIsUsable(claim, isAlive: isAlive, now: now) {
                    return laneLease(claim, habits: habits, stack: stack, now: now)
                }
            case .closed:
                break
            }
        }
        let context = LeaseContext(threadName: habits.pointee.name, stack: stack)
        let deadline = now &+ (timeout?.nanoseconds ?? configuration.poolTimeout.nanoseconds)
        var pending: LentConnection<Connection>?
        let requestID: PoolRequestID
        switch withMachine({ $0.leaseRequested(context: context, waiter: nil, now: now) }) {
        case .leased(let lent):
            if !lent.needsPing { return makeLease(lent) }
            pending = lent
            requestID = withMachine { $0.makeRequestID() }
        case .needsWaiter(let id):
            requestID = id
        case .shutDown:
            throw .shutDown
        case .failed(let reason):
            throw error(for: reason, connectError: nil)
        case .open, .replace, .wait, .waitForRetry:
            preconditionFailure("the state machine enqueued a request without a waiter")
        }
        while true {
            let toPing = pending
            let result = await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let waiter = Waiter.task(continuation)
                    if let toPing {
                        blockingIO { self.pingOrReplace(toPing, waiter: waiter, id: requestID, deadline: deadline) }
                    } else {
                        enqueue(context: context, waiter: waiter, id: requestID, deadline: deadline)
                    }
                }
            } onCancel: {
                let now = MonotonicClock.now
                let actions = withMachine { $0.leaseCancelled(requestID, now: now) }
                run(actions, connectError: nil)
            }
            let lent = try result.get()
            if !lent.needsPing { return makeLease(lent) }
            pending = lent
        }
    }

    /// Enqueues an async waiter (or serves it at once) and arms its deadline.
    private func enqueue(context: LeaseContext, waiter: Waiter, id: PoolRequestID, deadline: Int64) {
        let now = MonotonicClock.now
        // Checked under the lock so that a cancellation either sees the waiter queued or is seen here.
        let action = withMachine { machine -> Machine.LeaseAction? in
            if Task.isCancelled { return nil }
            return machine.leaseRequested(context: context, waiter: waiter, requestID: id, now: now)
        }
        guard let action else {
            resume(waiter, with: .failure(.cancelled))
            return
        }
        switch action {
        case .leased(let lent):
            resume(waiter, with: .success(lent))
        case .open(_, let open):
            armDeadline(id, at: deadline)
            blockingIO { self.runOpen(open) }
        case .replace(let old, _, let open):
            armDeadline(id, at: deadline)
            blockingIO {
                self.factory.close(old)
                self.runOpen(open)
            }
        case .wait:
            armDeadline(id, at: deadline)
        case .waitForRetry(_, let at):
            armDeadline(id, at: deadline)
            scheduleConnectRetry(at: at)
        case .failed(let reason):
            resume(waiter, with: .failure(error(for: reason, connectError: nil)))
        case .shutDown:
            resume(waiter, with: .failure(.shutDown))
        case .needsWaiter:
            preconditionFailure("the state machine asked for a waiter although one was given")
        }
    }

    /// On the pool's queue: pings a lent connection; a dead one is replaced for the same request.
    private func pingOrReplace(_ lent: LentConnection<Connection>, waiter: Waiter, id: PoolRequestID, deadline: Int64) {
        if factory.ping(lent.connection) {
            var alive = lent
            alive.needsPing = false
            resume(waiter, with: .success(alive))
            return
        }
        let now = MonotonicClock.now
        let actions = withMachine { $0.pingFailed(lent, waiter: waiter, requestID: id, now: now) }
        if actions.enqueued != nil { armDeadline(id, at: deadline) }
        run(actions, connectError: nil, opensInline: true)
    }

    /// Fails request `id` with `.timedOut` at the monotonic `deadline` unless it was served by then.
    private func armDeadline(_ id: PoolRequestID, at deadline: Int64) {
        let delay = max(0, deadline - MonotonicClock.now)
        queue.asyncAfter(deadline: .now() + .nanoseconds(Int(delay))) { [weak self] in
            guard let self else { return }
            let now = MonotonicClock.now
            let actions = self.withMachine { $0.leaseDeadlinePassed(id, now: now) }
            self.run(actions, connectError: nil)
        }
    }
}
