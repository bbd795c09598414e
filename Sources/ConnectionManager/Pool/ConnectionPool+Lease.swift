extension ConnectionPool {
    /// One loan of a connection. A value: copies refer to the same loan, and only the first checkin counts.
    ///
    /// Does not retain the pool (a shared reference count would be one more contended atomic per checkout):
    /// the pool must outlive its leases, which holds when leases are given back before the pool is dropped.
    public struct Lease: Sendable {
        /// The lent connection. Do not use it after `checkin`.
        public let connection: Connection
        /// The pool's id of the connection (as in `CheckoutRecord.connectionID`).
        public let connectionID: Int
        let slot: Int
        let seq: UInt64
        // Safety: the pool outlives its leases (documented above; its deinit asserts no lease is out).
        unowned(unsafe) let pool: ConnectionPool

        /// Gives the connection back; same as `pool.checkin(lease)`.
        public func checkin() { pool.checkin(self) }

        /// This loan was given back (by any copy). A relaxed load of the slot's lease word: exact for the
        /// holder's own thread, which is the only one that gives a lease back in normal use.
        public var isCheckedIn: Bool {
            pool.leaseWords[slot].load(ordering: .relaxed) != seq << 1 | 1
        }

        /// Records the statement being run, for the leak detector (`CheckoutRecord.lastSQL`). Takes the pool's
        /// lock briefly; ignored after checkin.
        public func recordSQL(_ sql: String?) {
            pool.state.withLock { $0.recordSQL(sql, slot: slot, seq: seq) }
        }

        /// Marks this session as expected to be long (no leak alarm). Ignored after checkin.
        public func markExpectedLong(_ isExpectedLong: Bool = true) {
            pool.state.withLock { $0.markExpectedLong(isExpectedLong, slot: slot, seq: seq) }
        }
    }

    // MARK: Administration (each takes the lock once, then acts outside it)

    /// Opens connections until `poolSize` are open, on this thread. Throws the first connect failure.
    public func prefill() throws(PoolError) {
        let actions = state.withLock { $0.prefillRequested() }
        var firstError: (any Error)?
        for open in actions.open {
            if let error = runOpen(open), firstError == nil { firstError = error }
        }
        if let firstError { throw .connectFailed(underlying: firstError) }
    }

    /// Stops lending (HikariCP `suspendPool`, PgBouncer `PAUSE`): checkouts wait, their deadlines still run.
    public func suspend() {
        state.withLock { $0.suspend() }
    }

    /// Lends again, serving the waiters in arrival order.
    public func resume() {
        let now = MonotonicClock.now
        let actions = state.withLock { $0.resume(now: now) }
        run(actions, connectError: nil)
    }

    /// Soft eviction: closes idle connections now and busy ones when they are given back.
    public func evictIdle() {
        let actions = state.withLock { $0.evictIdle() }
        run(actions, connectError: nil)
    }

    /// Starts a new generation: idle connections close now, busy ones when they are given back.
    public func invalidateAll() {
        let actions = state.withLock { $0.invalidateAll() }
        run(actions, connectError: nil)
    }

    /// Fails waiters with `.shutDown`, closes idle connections now and busy ones when given back. Final.
    public func shutdown() {
        let actions = state.withLock { $0.shutdown() }
        run(actions, connectError: nil)
    }

    // MARK: Observation

    /// Counters, gauges and latency percentiles now (`leakedConnections` is left 0 for the manager).
    public func metrics() -> PoolMetrics {
        state.withLock { $0.metricsSnapshot() }.resolved()
    }

    /// A copy of the record of every connection lent right now, oldest checkout first.
    public func checkedOutConnections() -> [CheckoutRecord] {
        let raw = state.withLock { $0.checkedOutRecords() }
        return raw.map {
            CheckoutRecord(
                connectionID: $0.connectionID, backendPID: $0.backendPID,
                checkedOutAt: wallDate(monotonic: $0.checkedOutAt),
                checkedOutAtNanoseconds: $0.checkedOutAt, threadName: $0.context.threadName, stack: $0.context.stack,
                lastSQL: $0.lastSQL, isExpectedLong: $0.isExpectedLong, generation: $0.generation)
        }
    }
}
