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
        slots[slot].state = .leased
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

    /// The open of `slot` failed. Fails the request that caused it (if it still waits); others keep waiting.
    mutating func connectionOpenFailed(slot: Int, now: Int64) -> Actions {
        var actions = Actions()
        guard slot >= 0, slot < slots.count, case .connecting(let cause) = slots[slot].state else { return actions }
        connectingCount -= 1
        counters.connectFailures += 1
        slots[slot].state = .empty
        free.append(slot)
        // The server may be restarting: check who answers on the next successful open.
        needsIdentityCheck = true
        if let cause, let index = waiters.firstIndex(where: { $0.id == cause }) {
            let request = waiters.remove(at: index)
            if request.isWoken { wokenCount -= 1 }
            actions.fail.append((request.waiter, .connectFailed))
            wakeAll(now: now, into: &actions)
        }
        fillOpens(into: &actions)
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
        guard slot >= 0, slot < slots.count, case .leased = slots[slot].state, slots[slot].leaseSeq == lent.seq else {
            return actions
        }
        let context = slots[slot].context
        leasedCount -= 1
        counters.totalCheckouts -= 1  // the checkout did not happen after all
        needsIdentityCheck = true
        let isShutDown = lifecycle == .shutDown
        actions.close.append(takeConnection(slot, invalidated: true, freesSlot: isShutDown))
        if isShutDown {
            actions.fail.append((waiter, .shutDown))
            return actions
        }
        let id = requestID ?? makeRequestID()
        slots[slot].state = .connecting(cause: id)
        connectingCount += 1
        waiters.prepend(
            WaitingRequest(id: id, waiter: waiter, context: context, enqueuedAt: now, hasOpen: true, retries: retries))
        actions.open.append(makeOpen(slot))
        actions.enqueued = id
        return actions
    }

    /// The request's deadline passed. Fails it with `.timedOut` if it still waits; a no-op once it was served.
    mutating func leaseDeadlinePassed(_ id: PoolRequestID, now: Int64) -> Actions {
        var actions = Actions()
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return actions }
        let request = removeWaiter(at: index)
        counters.timeouts += 1
        if lifecycle == .suspended { counters.timeoutsWhileSuspended += 1 }
        let waited = Duration.nanoseconds(now - request.enqueuedAt)
        actions.fail.append((request.waiter, .timedOut(waited: waited, metrics: metricsSnapshot())))
        wakeAll(now: now, into: &actions)
        return actions
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
        let lent = lend(slot, context: request.context, now: now, waited: now - request.enqueuedAt, isFresh: isFresh)
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

    /// One free slot for the oldest waiter that has no open in flight, if any.
    mutating func openForWaiterWithoutOpen() -> OpenRequest? {
        guard lifecycle == .running, !waiters.isEmpty, let slot = free.last else { return nil }
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
