/// Facts an operator or the manager causes: prefill, suspend/resume, eviction, generations, shutdown.
extension PoolStateMachine {
    /// Open connections until `poolSize` are open or opening (a lazy pool's eager start).
    mutating func prefillRequested() -> Actions {
        var actions = Actions()
        guard lifecycle != .shutDown, breaker.isClosed else { return actions }
        while openCount + connectingCount < poolSize, let slot = free.popLast() {
            slots[slot].state = .connecting(cause: nil)
            connectingCount += 1
            actions.open.append(makeOpen(slot))
        }
        if connectingCount > 0 { adoptOrphanOpens() }
        return actions
    }

    /// Stop lending: new checkouts wait (their deadline still runs) until `resume`.
    mutating func suspend() {
        if lifecycle == .running { lifecycle = .suspended }
    }

    /// Lend again: serve the waiters in arrival order from idle connections, then open for the rest.
    mutating func resume(now: Int64) -> Actions {
        var actions = Actions()
        guard lifecycle == .suspended else { return actions }
        lifecycle = .running
        while !waiters.isEmpty, let slot = idle.popLast() {
            actions.handOver.append(serveOldestWaiter(slot: slot, now: now, isFresh: false))
        }
        fillOpens(into: &actions)
        return actions
    }

    /// Soft eviction: close idle connections now and busy ones when they come back.
    mutating func evictIdle() -> Actions {
        var actions = Actions()
        laneEpoch += 1
        closeIdle(invalidated: true, into: &actions)
        for slot in slots.indices {
            switch slots[slot].state {
            case .out, .pinging: slots[slot].closeOnReturn = true
            case .empty, .connecting, .idle: break
            }
        }
        fillOpens(into: &actions)
        return actions
    }

    /// Start a new generation: idle connections of older generations close now, busy ones when they come back.
    mutating func invalidateAll() -> Actions {
        var actions = Actions()
        invalidate(into: &actions)
        fillOpens(into: &actions)
        return actions
    }

    /// Final: fail every waiter with `.shutDown`, close idle connections now, busy and connecting ones later.
    mutating func shutdown() -> Actions {
        var actions = Actions()
        guard lifecycle != .shutDown else { return actions }
        lifecycle = .shutDown
        laneEpoch += 1
        while let request = waiters.popFirst() {
            actions.fail.append((request.waiter, .shutDown))
        }
        wokenCount = 0
        for slot in slots.indices {
            if case .connecting = slots[slot].state { slots[slot].state = .connecting(cause: nil) }
        }
        closeIdle(invalidated: false, into: &actions)
        return actions
    }

    mutating func invalidate(into actions: inout Actions) {
        generation += 1
        laneEpoch += 1
        closeIdle(invalidated: true, into: &actions)
    }

    mutating func closeIdle(invalidated: Bool, into actions: inout Actions) {
        while let slot = idle.popLast() {
            actions.close.append(takeConnection(slot, invalidated: invalidated))
        }
    }
}
