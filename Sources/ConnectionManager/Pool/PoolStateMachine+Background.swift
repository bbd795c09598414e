/// Facts that happen off the checkout path: the breaker's backoff ending, maintenance ticks (overflow idle
/// lifetime, keepalive, minimum idle), keepalive pings coming back, a new target.
extension PoolStateMachine {
    // MARK: Connect backoff

    /// A request needs a new connection but the breaker does not let one open: it waits (for a connection given
    /// back, or the trial) unless nothing is open to give back and the breaker has tripped.
    mutating func enqueueWhileBackingOff(
        _ id: PoolRequestID, waiter: Waiter, retries: Bool, now: Int64
    ) -> LeaseAction {
        if openCount == 0, breaker.isTripped(now: now, patience: poolTimeoutNanoseconds) {
            return .failed(backoffReason())
        }
        waiters.append(
            WaitingRequest(id: id, waiter: waiter, enqueuedAt: now, hasOpen: false, retries: retries))
        if let at = armRetryTimer() { return .waitForRetry(id, at: at) }
        return .wait(id)
    }

    /// The breaker's backoff may have ended (its timer fired): start the trial open for the oldest waiter that
    /// has none. Too early (or nobody waits) changes nothing but re-arms the timer while someone waits.
    mutating func connectRetryDue(now: Int64) -> Actions {
        var actions = Actions()
        if retryTimerAt <= now { retryTimerAt = 0 }
        guard lifecycle == .running, !breaker.isClosed,
            (0..<waiters.count).contains(where: { !waiters[$0].hasOpen })
        else { return actions }
        guard breaker.isTrialDue(now: now), !free.isEmpty, breaker.mayOpen(now: now) else {
            // Early, or a trial is in flight (its outcome arms the next timer): try again at the deadline.
            retryTimerAt = 0
            actions.retryAt = armRetryTimer()
            return actions
        }
        let slot = free.removeLast()
        let index = waiters.firstIndex { !$0.hasOpen }!
        waiters[index].hasOpen = true
        slots[slot].state = .connecting(cause: waiters[index].id)
        connectingCount += 1
        actions.open.append(makeOpen(slot))
        return actions
    }

    /// The time to call `connectRetryDue`, unless a timer for this backoff is already set (nil then).
    mutating func armRetryTimer() -> Int64? {
        guard case .open(let until) = breaker.state, retryTimerAt != until else { return nil }
        retryTimerAt = until
        return until
    }

    /// What a request fails with while the breaker backs off.
    func backoffReason() -> PoolFailureReason {
        .connectBackoff(lastError: breaker.lastError ?? PoolConnectError.unknown, retryAt: breaker.retryAt)
    }

    /// New connections go to another server now (failover): a new generation, and the breaker's streak was about
    /// the old server, so it closes and the waiters' opens start.
    mutating func targetChanged() -> Actions {
        breaker.reset()
        var actions = Actions()
        invalidate(into: &actions)
        fillOpens(into: &actions)
        return actions
    }

    // MARK: Maintenance

    /// A maintenance tick (about once a second, never on a caller's thread): closes overflow connections idle
    /// longer than their lifetime (least recently used first, down to `poolSize`), takes idle connections due a
    /// keepalive out for a ping (`actions.ping`), opens connections until `minIdle` are idle (`laneIdle`: idle
    /// connections parked in the lock-free lane, which the machine counts as lent), and starts the breaker's
    /// trial if it is due.
    mutating func maintenanceDue(laneIdle: Int, now: Int64) -> Actions {
        var actions = Actions()
        guard lifecycle != .shutDown else { return actions }
        // With a lifetime of 0 too: an open that finished after its requester was served parks idle above
        // `poolSize` without ever being given back (it used to stay open for good).
        var index = 0
        while openCount > poolSize, index < idle.count {
            let slot = idle[index]
            if now - slots[slot].idleSince >= overflowIdleNanoseconds {
                idle.remove(at: index)
                actions.close.append(takeConnection(slot, invalidated: false))
            } else {
                index += 1
            }
        }
        if let keepaliveNanoseconds {
            var index = 0
            while index < idle.count {
                let slot = idle[index]
                if now - slots[slot].idleSince >= keepaliveNanoseconds {
                    idle.remove(at: index)
                    slots[slot].state = .pinging
                    pingingCount += 1
                    actions.ping.append((slot, slots[slot].connection!))
                } else {
                    index += 1
                }
            }
        }
        guard lifecycle == .running else { return actions }
        if minIdle > 0 {
            var spare = idle.count + pingingCount + laneIdle + connectingCount
            while spare < minIdle, openCount + connectingCount < poolSize, !free.isEmpty, breaker.mayOpen(now: now) {
                let slot = free.removeLast()
                slots[slot].state = .connecting(cause: nil)
                connectingCount += 1
                actions.open.append(makeOpen(slot))
                spare += 1
                // Half-open: this open is the trial, the only one.
                if !breaker.isClosed { break }
            }
            if connectingCount > 0 { adoptOrphanOpens() }
        }
        let retry = connectRetryDue(now: now)
        actions.open += retry.open
        actions.retryAt = retry.retryAt
        return actions
    }

    /// The keepalive ping of `slot` came back. Alive: idle again (a waiter may take it). Dead, or evicted,
    /// invalidated or shut down meanwhile: closed (its room goes to a waiter's open).
    mutating func keepalivePinged(slot: Int, isAlive: Bool, now: Int64) -> Actions {
        var actions = Actions()
        guard slot >= 0, slot < slots.count, case .pinging = slots[slot].state else { return actions }
        pingingCount -= 1
        if !isAlive || slots[slot].closeOnReturn || slots[slot].generation != generation || lifecycle == .shutDown {
            if !isAlive { suspectConnections(now: now) }
            actions.close.append(takeConnection(slot, invalidated: lifecycle != .shutDown))
            fillOpens(into: &actions)
            return actions
        }
        slots[slot].state = .idle
        slots[slot].idleSince = now
        idle.append(slot)
        wakeAll(now: now, into: &actions)
        return actions
    }
}
