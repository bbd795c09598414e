/// Facts about opens, pings and waiting requests (not on the hot path).
extension PoolStateMachine {
    /// The open of `slot` succeeded. `identity` is the server identity when the open asked for it.
    mutating func connectionOpened(
        slot: Int, connection: Connection, backendPID: Int32, identity: String?, now: Int64
    ) -> Actions {
        var actions = Actions()
        guard slot >= 0, slot < slots.count, case .connecting(let cause) = slots[slot].state else {
            actions.close.append(connection)
            return actions
        }
        connectingCount -= 1
        counters.connectionsCreated += 1
        // The server accepts connections again: the backoff ends and opens for the waiters go ahead below.
        breaker.reset()
        slots[slot].connection = connection
        slots[slot].connectionID = takeConnectionID()
        slots[slot].backendPID = backendPID
        slots[slot].openedAt = now
        slots[slot].closeOnReturn = false
        if !hasConnectedOnce {
            hasConnectedOnce = true
            actions.isFirstConnect = true
        }
        if let identity {
            needsIdentityCheck = false
            if let known = serverIdentity, known != identity {
                // The server restarted: every connection opened before is stale. One failed ping found it.
                actions.serverRestarted = true
                invalidate(into: &actions)
            }
            serverIdentity = identity
        }
        slots[slot].generation = generation
        // The slot no longer belongs to its cause, which now waits like any other request.
        slots[slot].state = .out
        if let cause, let index = waiters.firstIndex(where: { $0.id == cause }) {
            waiters[index].hasOpen = false
        }
        if lifecycle == .shutDown {
            actions.close.append(takeConnection(slot, invalidated: false))
        } else if lifecycle == .running, !waiters.isEmpty {
            actions.handOver.append(serveOldestWaiter(slot: slot, now: now, isFresh: true))
        } else {
            slots[slot].state = .idle
            slots[slot].idleSince = now
            idle.append(slot)
        }
        fillOpens(into: &actions)
        return actions
    }

    /// The open of `slot` failed with `error`; `isPermanent`: retrying will not help (wrong password, unknown
    /// database). The breaker opens. The request that caused it keeps waiting — for a connection given back or
    /// the breaker's trial (`actions.retryAt`) — unless waiting is pointless: nothing is open to give back and
    /// the error is permanent (every waiter fails with `.connectFailed`) or the failures have lasted the pool
    /// timeout (`.connectBackoff`).
    mutating func connectionOpenFailed(
        slot: Int, error: any Error = PoolConnectError.unknown, isPermanent: Bool = false, now: Int64
    ) -> Actions {
        var actions = Actions()
        guard slot >= 0, slot < slots.count, case .connecting(let cause) = slots[slot].state else { return actions }
        connectingCount -= 1
        counters.connectFailures += 1
        slots[slot].state = .empty
        free.append(slot)
        // The server may be restarting: check who answers on the next successful open.
        needsIdentityCheck = true
        breaker.openFailed(error, isPermanent: isPermanent, now: now)
        if let cause, let index = waiters.firstIndex(where: { $0.id == cause }) {
            waiters[index].hasOpen = false
        }
        guard lifecycle == .running else { return actions }
        if openCount == 0, breaker.isTripped(now: now, patience: poolTimeoutNanoseconds) {
            let reason = isPermanent ? PoolFailureReason.connectFailed : backoffReason()
            while let request = waiters.popFirst() {
                if request.isWoken { wokenCount -= 1 }
                if request.hasOpen { orphanOpen(of: request.id) }
                actions.fail.append((request.waiter, reason))
            }
            return actions
        }
        if (0..<waiters.count).contains(where: { !waiters[$0].hasOpen }) { actions.retryAt = armRetryTimer() }
        return actions
    }

    /// The pre-ping of a lent connection failed: close it and open a replacement for the same request, which
    /// waits at the head of the queue (it was served before everyone else waiting).
    mutating func pingFailed(
        _ lent: LentConnection<Connection>, waiter: Waiter, retries: Bool = false, requestID: PoolRequestID?,
        now: Int64
    ) -> Actions {
        var actions = Actions()
        let slot = lent.slot
        guard slot >= 0, slot < slots.count, case .out = slots[slot].state else { return actions }
        outCount -= 1
        suspectConnections(now: now)
        let isShutDown = lifecycle == .shutDown
        let mayOpen = !isShutDown && breaker.mayOpen(now: now)
        actions.close.append(takeConnection(slot, invalidated: true, freesSlot: !mayOpen))
        if isShutDown {
            actions.fail.append((waiter, .shutDown))
            return actions
        }
        let id = requestID ?? makeRequestID()
        guard mayOpen else {
            // Backing off: the request waits at the head of the queue for a connection given back or the trial.
            if openCount == 0, breaker.isTripped(now: now, patience: poolTimeoutNanoseconds) {
                actions.fail.append((waiter, backoffReason()))
                return actions
            }
            waiters.prepend(
                WaitingRequest(
                    id: id, waiter: waiter, enqueuedAt: now, hasOpen: false, retries: retries))
            actions.enqueued = id
            actions.retryAt = armRetryTimer()
            return actions
        }
        slots[slot].state = .connecting(cause: id)
        connectingCount += 1
        waiters.prepend(
            WaitingRequest(id: id, waiter: waiter, enqueuedAt: now, hasOpen: true, retries: retries))
        actions.open.append(makeOpen(slot))
        actions.enqueued = id
        return actions
    }

    /// The request's deadline passed. Fails it with `.timedOut` if it still waits — or `.connectBackoff` while the
    /// breaker is not closed: the pool could not open the connection it needed, it is not saturated — and is a
    /// no-op once it was served.
    mutating func leaseDeadlinePassed(_ id: PoolRequestID, now: Int64) -> Actions {
        var actions = Actions()
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return actions }
        timeOut(removeWaiter(at: index), now: now, into: &actions)
        wakeAll(now: now, into: &actions)
        return actions
    }

    /// Fails a request whose deadline passed (it left the queue): `.timedOut`, or `.connectBackoff` while the
    /// breaker is not closed.
    private mutating func timeOut(_ request: WaitingRequest, now: Int64, into actions: inout Actions) {
        guard breaker.isClosed else {
            actions.fail.append((request.waiter, backoffReason()))
            return
        }
        counters.timeouts += 1
        if lifecycle == .suspended { counters.timeoutsWhileSuspended += 1 }
        let waited = Duration.nanoseconds(now - request.enqueuedAt)
        actions.fail.append((request.waiter, .timedOut(waited: waited, metrics: metricsSnapshot())))
    }

    // MARK: Task deadlines

    /// Gives queued request `id` its `deadline` (monotonic ns) and says when the pool's one deadline check must
    /// run: at `deadline`, when no check is armed that early; nil when one is (it re-arms for the rest when it
    /// runs) or `id` is not queued. Tasks have no thread of their own to time out on (threads use a timed wait);
    /// a Dispatch timer per waiting task cost a wake of Dispatch's timer thread per checkout, nearly a fifth of
    /// the client's CPU with 64 tasks on 10 connections. Requests usually share one timeout, so later requests
    /// have later deadlines: arming is then a comparison, and the check fires about once per timeout.
    mutating func armDeadlineCheck(for id: PoolRequestID, deadline: Int64) -> Int64? {
        guard let index = waiterIndex(of: id) else { return nil }
        waiters[index].deadline = deadline
        if deadlineCheckAt != 0, deadlineCheckAt <= deadline { return nil }
        deadlineCheckAt = deadline
        return deadline
    }

    /// A deadline check's timer (armed for `armedFor`) fired: fails every request whose deadline passed, as
    /// `leaseDeadlinePassed` does, and says when the next check must run for the requests still waiting with a
    /// deadline (nil: none, or a check is armed no later). A timer that fires early re-arms for the same time.
    mutating func deadlineCheckDue(armedFor: Int64, now: Int64) -> (actions: Actions, next: Int64?) {
        if deadlineCheckAt == armedFor { deadlineCheckAt = 0 }
        var actions = Actions()
        var earliest = Int64.max
        var index = 0
        while index < waiters.count {
            let deadline = waiters[index].deadline
            if deadline > now {
                earliest = min(earliest, deadline)
                index += 1
            } else {
                timeOut(removeWaiter(at: index), now: now, into: &actions)
            }
        }
        if !actions.fail.isEmpty { wakeAll(now: now, into: &actions) }
        guard earliest != .max, deadlineCheckAt == 0 || earliest < deadlineCheckAt else { return (actions, nil) }
        deadlineCheckAt = earliest
        return (actions, earliest)
    }

    /// Where request `id` is in the queue: usually last (just appended) or first (prepended after a failed ping).
    private func waiterIndex(of id: PoolRequestID) -> Int? {
        guard !waiters.isEmpty else { return nil }
        if waiters[waiters.count - 1].id == id { return waiters.count - 1 }
        return waiters.firstIndex(where: { $0.id == id })
    }

    /// The waiting task was cancelled. Fails it with `.cancelled` if it still waits; a no-op once it was served.
    mutating func leaseCancelled(_ id: PoolRequestID, now: Int64) -> Actions {
        var actions = Actions()
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return actions }
        let request = removeWaiter(at: index)
        actions.fail.append((request.waiter, .cancelled))
        wakeAll(now: now, into: &actions)
        return actions
    }

    // MARK: The fairness check

    /// When the pool's one starvation check should run (monotonic ns): at the time the oldest waiter starves, at
    /// least 1 ms from `now`; `nil` when nobody waits or a check is already armed no later. The check
    /// (`starvationCheckDue`) is a machine step and nothing else: it lets the lane's mirror see the oldest waiter
    /// starve when nothing else reaches the machine (running callers barging through the lane), which closes the
    /// lane, so that the connections parked there and the next ones given back go to that waiter. One timer for
    /// the pool, whatever the queue: waiters are not woken for it.
    mutating func armStarvationCheck(now: Int64) -> Int64? {
        guard lifecycle == .running, !waiters.isEmpty else { return nil }
        let at = max(waiters[0].enqueuedAt &+ starvationThreshold() &+ 100_000, now &+ 1_000_000)
        if starvationCheckAt != 0, starvationCheckAt <= at { return nil }
        starvationCheckAt = at
        return at
    }

    /// The starvation check's timer fired: the check is the step itself; the result re-arms it for whoever is the
    /// oldest waiter now (`nil`: nobody waits, or a check is armed no later).
    mutating func starvationCheckDue(now: Int64) -> Int64? {
        if starvationCheckAt <= now { starvationCheckAt = 0 }
        return armStarvationCheck(now: now)
    }

    /// Request `id` is still in the queue.
    func isWaiting(_ id: PoolRequestID) -> Bool {
        waiters.firstIndex(where: { $0.id == id }) != nil
    }

    // MARK: Helpers

    /// Serves the oldest waiter with the connection in `slot` (whose state the caller already took over).
    mutating func serveOldestWaiter(slot: Int, now: Int64, isFresh: Bool) -> (LentConnection<Connection>, Waiter) {
        serveWaiter(at: 0, slot: slot, now: now, isFresh: isFresh)
    }

    /// Serves the waiter at `index` with the connection in `slot` (whose state the caller already took over).
    mutating func serveWaiter(at index: Int, slot: Int, now: Int64, isFresh: Bool)
        -> (LentConnection<Connection>, Waiter)
    {
        let request = index == 0 ? waiters.popFirst()! : waiters.remove(at: index)
        if request.isWoken { wokenCount -= 1 }
        if request.hasOpen { orphanOpen(of: request.id) }
        let lent = lend(slot, now: now, waited: now - request.enqueuedAt, isFresh: isFresh)
        if connectingCount > 0 { adoptOrphanOpens() }
        return (lent, request.waiter)
    }

    /// Removes a waiter that leaves without a connection; its open (if any) goes to another waiter.
    mutating func removeWaiter(at index: Int) -> WaitingRequest {
        let request = waiters.remove(at: index)
        if request.isWoken { wokenCount -= 1 }
        if request.hasOpen {
            orphanOpen(of: request.id)
            adoptOrphanOpens()
        }
        return request
    }

    /// Wakes (or serves) sleeping waiters while idle connections outnumber the woken ones (after a woken waiter
    /// left the queue without a connection).
    mutating func wakeAll(now: Int64, into actions: inout Actions) {
        while let step = nextWake(now: now) {
            switch step {
            case .wake(let waiter): actions.wake.append(waiter)
            case .handOver(let lent, let waiter): actions.handOver.append((lent, waiter))
            }
        }
    }

    /// The open caused by `id` no longer belongs to anyone.
    mutating func orphanOpen(of id: PoolRequestID) {
        for slot in slots.indices {
            if case .connecting(let cause) = slots[slot].state, cause == id {
                slots[slot].state = .connecting(cause: nil)
                return
            }
        }
    }

    /// Gives each open without a cause to the oldest waiter that has none, so a connect failure always fails
    /// a request that is still waiting for it.
    mutating func adoptOrphanOpens() {
        for slot in slots.indices {
            guard case .connecting(cause: nil) = slots[slot].state else { continue }
            guard let index = waiters.firstIndex(where: { !$0.hasOpen }) else { return }
            waiters[index].hasOpen = true
            slots[slot].state = .connecting(cause: waiters[index].id)
        }
    }

    /// One free slot for the oldest waiter that has no open in flight, if any (and the breaker is closed: while it
    /// backs off, only its trial opens).
    mutating func openForWaiterWithoutOpen() -> OpenRequest? {
        guard lifecycle == .running, breaker.isClosed, !waiters.isEmpty, let slot = free.last else { return nil }
        guard let index = waiters.firstIndex(where: { !$0.hasOpen }) else { return nil }
        free.removeLast()
        waiters[index].hasOpen = true
        slots[slot].state = .connecting(cause: waiters[index].id)
        connectingCount += 1
        return makeOpen(slot)
    }

    /// Starts opens for waiters that have none while there is room (after a slot was freed).
    mutating func fillOpens(into actions: inout Actions) {
        while let open = openForWaiterWithoutOpen() { actions.open.append(open) }
    }
}
