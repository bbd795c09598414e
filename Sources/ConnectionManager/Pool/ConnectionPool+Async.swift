import Dispatch

extension ConnectionPool {
    /// Lends a connection, suspending the task (never blocking a cooperative thread) up to `timeout`
    /// (default: `poolTimeout`).
    ///
    /// The rules of the blocking `checkout`, in the same order and with the same errors: the lane first, then the
    /// machine; a task that has to wait queues like a thread, is woken to retry when a connection is parked (so
    /// that once the queue is gone checkouts take the lane again, not a hand-over each), and is handed a
    /// connection directly once it starves. Opens and pings run on I/O threads (`blockingIO`), never on a
    /// cooperative thread. Cancelling the task while it waits removes it from the queue and throws `.cancelled`.
    public func checkout(timeout: Duration? = nil, captureStack: Bool = false) async throws(PoolError) -> Lease {
        let habits = ThreadContext.currentHabits
        let stack = captureStack ? CapturedStack.capture(skip: 1) : nil
        let now = MonotonicClock.now
        habits.pointee.noteCheckout(now: now)
        if lane.isOpen.load(ordering: .relaxed), let claim = lane.claim(preferred: preferredSlot(habits)) {
            if let lease = await checkedLaneLease(claim, stack: stack) { return lease }
        }
        let context = LeaseContext(threadName: habits.pointee.name, stack: stack)
        let deadline = MonotonicClock.now &+ (timeout?.nanoseconds ?? configuration.poolTimeout.nanoseconds)
        let requestID: PoolRequestID
        switch withMachine({ $0.leaseRequested(waiter: nil, now: now) }) {
        case .leased(let lent):
            if !lent.needsPing { return makeLease(lent, context: context) }
            if await isAlive(lent.connection) { return makeLease(lent, context: context) }
            requestID = withMachine { $0.makeRequestID() }
            let parker = TaskParker<Result<LentConnection<Connection>, PoolError>>()
            return try await waitAsync(
                .ping(failed: lent), parker: parker, id: requestID, context: context, deadline: deadline,
                stack: stack)
        case .needsWaiter(let id):
            requestID = id
        case .shutDown:
            throw .shutDown
        case .failed(let reason):
            throw error(for: reason, connectError: nil)
        case .open, .replace, .wait, .waitForRetry:
            preconditionFailure("the state machine enqueued a request without a waiter")
        }
        let parker = TaskParker<Result<LentConnection<Connection>, PoolError>>()
        return try await waitAsync(
            .enqueue, parker: parker, id: requestID, context: context, deadline: deadline, stack: stack)
    }

    /// The lane's part of `checkout` alone: a parked connection that is usable now, or nil (then call
    /// `checkout`). Never waits, pings or opens, so it never suspends: a caller that would change executors to
    /// wait (the manager's `withConnection`) looks here first and stays where it is when this succeeds.
    public func checkoutFromLane(captureStack: Bool = false) -> Lease? {
        let habits = ThreadContext.currentHabits
        guard lane.isOpen.load(ordering: .relaxed), let claim = lane.claim(preferred: preferredSlot(habits)) else {
            return nil
        }
        let now = MonotonicClock.now
        switch laneCheck(claim, now: now) {
        case .usable:
            habits.pointee.noteCheckout(now: now)
            let stack = captureStack ? CapturedStack.capture(skip: 1) : nil
            return laneLease(claim, habits: habits, stack: stack, now: now)
        case .needsPing:
            // `checkout` pings it off the caller's thread.
            returnClaimToLane(claim)
            return nil
        case .closed:
            return nil
        }
    }

    /// How a waiting async checkout starts: by queueing, or (its lent connection's pre-ping failed) by asking
    /// the machine for a replacement, which also queues it.
    private enum AsyncStart {
        case enqueue
        case ping(failed: LentConnection<Connection>)
    }

    /// The async counterpart of `waitBlocking`: queued as request `id` (a waiter that retries), it awaits its
    /// parker until handed a connection, woken to retry (the lane, then the machine's idle connections), starving
    /// (the pool's starvation check then closes the lane for it, and it is handed the next connection), failed,
    /// or cancelled. The deadline is the pool's one deadline check (`armDeadlineCheck`).
    private func waitAsync(
        _ start: AsyncStart, parker: TaskParker<Result<LentConnection<Connection>, PoolError>>, id: PoolRequestID,
        context: LeaseContext, deadline: Int64, stack: CapturedStack?
    ) async throws(PoolError) -> Lease {
        let waiter = Waiter.task(parker)
        let result: Result<Lease, PoolError> = await withTaskCancellationHandler {
            switch start {
            case .enqueue: enqueue(waiter: waiter, id: id, deadline: deadline)
            case .ping(let lent): replaceAfterFailedPing(lent, waiter: waiter, id: id, deadline: deadline)
            }
            while true {
                let event = await parker.next()
                let lent: LentConnection<Connection>
                switch event {
                case .value(.failure(let error)):
                    return .failure(error)
                case .value(.success(let value)):
                    lent = value
                case .retry:
                    switch retryAsync(id, stack: stack) {
                    case .lease(let lease): return .success(lease)
                    case .lent(let value): lent = value
                    case .claim(let claim, let waited):
                        if let lease = await checkedLaneLease(claim, stack: stack, waited: waited) {
                            return .success(lease)
                        }
                        // Dead or recycled: the machine has it back. Ask again as a newcomer, still request `id` with
                        // its deadline.
                        enqueue(waiter: waiter, id: id, deadline: deadline)
                        continue
                    case .wait:
                        continue
                    }
                }
                if !lent.needsPing { return .success(makeLease(lent, context: context)) }
                if await isAlive(lent.connection) { return .success(makeLease(lent, context: context)) }
                replaceAfterFailedPing(lent, waiter: waiter, id: id, deadline: deadline)
            }
        } onCancel: {
            let now = MonotonicClock.now
            let actions = withMachine { $0.leaseCancelled(id, now: now) }
            run(actions, connectError: nil)
        }
        return try result.get()
    }

    /// A lane claim made by a task, checked as a thread's is (recycle age, pre-ping), with the ping on an I/O
    /// thread. `nil` when the connection was closed (the machine has the slot back).
    private func checkedLaneLease(
        _ claim: FastLane<Connection>.Claim, stack: CapturedStack?, waited: Int64 = 0
    ) async -> Lease? {
        switch laneCheck(claim, now: MonotonicClock.now) {
        case .usable:
            return laneLease(
                claim, habits: ThreadContext.currentHabits, stack: stack, now: MonotonicClock.now, waited: waited)
        case .needsPing:
            let isAlive = await isAlive(claimedConnection(claim))
            // Another thread now: its habits, and the time after the ping.
            let now = MonotonicClock.now
            guard pingedClaimIsUsable(claim, isAlive: isAlive, now: now) else { return nil }
            return laneLease(claim, habits: ThreadContext.currentHabits, stack: stack, now: now, waited: waited)
        case .closed:
            return nil
        }
    }

    /// Pings `connection` on an I/O thread: never a round trip on a cooperative thread.
    private func isAlive(_ connection: Connection) async -> Bool {
        await withCheckedContinuation { continuation in
            blockingIO { continuation.resume(returning: self.factory.ping(connection)) }
        }
    }

    private enum AsyncRetry {
        case lease(Lease)
        case lent(LentConnection<Connection>)
        /// A lane slot this request now holds, still to be checked (it left the queue after `waited`).
        case claim(FastLane<Connection>.Claim, waited: Int64)
        case wait
    }

    /// A woken task retries as a thread does (`retry`): the lane first, then the machine's idle connections. The
    /// lane's checks that may ping are left to the caller.
    private func retryAsync(_ id: PoolRequestID, stack: CapturedStack?) -> AsyncRetry {
        let now = MonotonicClock.now
        if lane.isOpen.load(ordering: .sequentiallyConsistent),
            let claim = lane.claim(preferred: preferredSlot(ThreadContext.currentHabits))
        {
            guard let served = withMachine({ $0.waiterServedByLane(id, now: now) }) else {
                // Served or failed meanwhile (the result is on its way): the claim goes back to the lane.
                returnClaimToLane(claim)
                return .wait
            }
            run(served.actions, connectError: nil)
            return .claim(claim, waited: served.waited)
        }
        switch withMachine({ $0.waiterRetried(id, now: now) }) {
        case .leased(let lent): return .lent(lent)
        case .wait, .notWaiting: return .wait
        }
    }

    /// Enqueues an async waiter (or serves it at once) and gives it its deadline (the pool's one deadline check).
    private func enqueue(waiter: Waiter, id: PoolRequestID, deadline: Int64) {
        let now = MonotonicClock.now
        // Checked under the lock so that a cancellation either sees the waiter queued or is seen here.
        let (action, checkAt, deadlineCheck) = withMachine { machine -> (Machine.LeaseAction?, Int64?, Int64?) in
            if Task.isCancelled { return (nil, nil, nil) }
            let action = machine.leaseRequested(waiter: waiter, retries: true, requestID: id, now: now)
            let deadlineCheck: Int64?
            switch action {
            case .open, .replace, .wait, .waitForRetry:
                deadlineCheck = machine.armDeadlineCheck(for: id, deadline: deadline)
            case .leased, .failed, .shutDown, .needsWaiter:
                deadlineCheck = nil
            }
            return (action, machine.armStarvationCheck(now: now), deadlineCheck)
        }
        if let checkAt { scheduleStarvationCheck(at: checkAt) }
        if let deadlineCheck { scheduleDeadlineCheck(at: deadlineCheck) }
        guard let action else {
            resume(waiter, with: .failure(.cancelled))
            return
        }
        switch action {
        case .leased(let lent):
            resume(waiter, with: .success(lent))
        case .open(_, let open):
            blockingIO { self.runOpen(open) }
        case .replace(let old, _, let open):
            blockingIO {
                self.factory.close(old)
                self.runOpen(open)
            }
        case .wait:
            break
        case .waitForRetry(_, let at):
            scheduleConnectRetry(at: at)
        case .failed(let reason):
            resume(waiter, with: .failure(error(for: reason, connectError: nil)))
        case .shutDown:
            resume(waiter, with: .failure(.shutDown))
        case .needsWaiter:
            preconditionFailure("the state machine asked for a waiter although one was given")
        }
    }

    /// The pre-ping of a lent connection failed: the machine closes it and opens a replacement for the same
    /// request, which waits at the head of the queue.
    private func replaceAfterFailedPing(
        _ lent: LentConnection<Connection>, waiter: Waiter, id: PoolRequestID, deadline: Int64
    ) {
        let now = MonotonicClock.now
        let (actions, cancelled, checkAt, deadlineCheck) = withMachine { machine in
            let actions = machine.pingFailed(lent, waiter: waiter, retries: true, requestID: id, now: now)
            // Cancelled while it pinged (its handler found nothing queued): it leaves the queue again.
            let cancelled = Task.isCancelled ? actions.enqueued.map { machine.leaseCancelled($0, now: now) } : nil
            let deadlineCheck =
                actions.enqueued != nil && cancelled == nil
                ? machine.armDeadlineCheck(for: id, deadline: deadline) : nil
            return (actions, cancelled, machine.armStarvationCheck(now: now), deadlineCheck)
        }
        if let checkAt { scheduleStarvationCheck(at: checkAt) }
        if let deadlineCheck { scheduleDeadlineCheck(at: deadlineCheck) }
        run(actions, connectError: nil)
        if let cancelled { run(cancelled, connectError: nil) }
    }
}
