import Foundation

extension ConnectionPool {
    // MARK: Administration (each takes the lock once, then acts outside it)

    /// Opens connections until `poolSize` are open, on this thread. Throws the first connect failure.
    public func prefill() throws(PoolError) {
        let actions = withMachine { $0.prefillRequested() }
        var firstError: (any Error)?
        for open in actions.open {
            if let error = runOpen(open), firstError == nil { firstError = error }
        }
        if let firstError { throw .connectFailed(underlying: firstError) }
    }

    /// Stops lending (HikariCP `suspendPool`, PgBouncer `PAUSE`): checkouts wait, their deadlines still run.
    public func suspend() {
        withMachine { $0.suspend() }
    }

    /// Lends again, serving the waiters in arrival order.
    public func resume() {
        let now = MonotonicClock.now
        let actions = withMachine { $0.resume(now: now) }
        run(actions, connectError: nil)
    }

    /// Soft eviction: closes idle connections now and busy ones when they are given back.
    public func evictIdle() {
        let actions = withMachine { $0.evictIdle() }
        run(actions, connectError: nil)
    }

    /// Starts a new generation: idle connections close now, busy ones when they are given back.
    public func invalidateAll() {
        let actions = withMachine { $0.invalidateAll() }
        run(actions, connectError: nil)
    }

    /// The factory now opens connections to another server (failover): a new generation, and the connect breaker
    /// closes (its failures were the old server's), so waiting checkouts get their opens at once.
    public func targetChanged() {
        let actions = withMachine { $0.targetChanged() }
        run(actions, connectError: nil)
    }

    /// One maintenance tick; call it about once a second from a timer (the manager's scan does), never from a
    /// checkout. Closes overflow connections idle longer than `overflowIdleTimeout`, pings connections idle longer
    /// than `keepalive` (dead ones are closed), opens connections in the background up to `minIdle` idle, and
    /// starts the connect breaker's trial when it is due. Pings and opens run on `blockingIO`, closes on the pool's
    /// queue; returns at once.
    public func runMaintenance() {
        let now = MonotonicClock.now
        if let keepalive = configuration.keepalive?.nanoseconds {
            // Connections parked in the lane go back to the machine when they are due a ping (a cold path: once
            // per keepalive interval per idle connection). Their next checkout goes through the machine once.
            for slot in 0..<slotCount where lane.state(slot).state == .idle {
                if now - lane.block(slot).pointee.idleSince.load(ordering: .relaxed) >= keepalive { reclaim(slot) }
            }
        }
        let laneIdle = lane.idleCount()
        let actions = withMachine { $0.maintenanceDue(laneIdle: laneIdle, now: now) }
        let closing = actions.close
        var rest = actions
        rest.close = []
        if !closing.isEmpty {
            queue.async { for connection in closing { self.factory.close(connection) } }
        }
        run(rest, connectError: nil)
    }

    /// Fails waiters with `.shutDown`, closes idle connections now and busy ones when given back. Final.
    public func shutdown() {
        let actions = withMachine { $0.shutdown() }
        run(actions, connectError: nil)
    }
}
