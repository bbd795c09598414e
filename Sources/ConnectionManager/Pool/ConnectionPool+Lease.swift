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
        /// Lent by the lock-free lane (`seq` is the lane's), not by the machine.
        let isLane: Bool
        /// The pool, not retained: it outlives its leases (documented above; its deinit asserts no lease is
        /// out). Reached through `withPool`, which does not retain it either (a shared reference count touched
        /// by every thread on every checkin would be a contended atomic).
        let poolReference: Unmanaged<ConnectionPool>

        init(
            connection: Connection, connectionID: Int, slot: Int, seq: UInt64, isLane: Bool,
            pool: ConnectionPool
        ) {
            self.connection = connection
            self.connectionID = connectionID
            self.slot = slot
            self.seq = seq
            self.isLane = isLane
            poolReference = Unmanaged.passUnretained(pool)
        }

        @inline(__always)
        func withPool<T>(_ body: (ConnectionPool) -> T) -> T {
            poolReference._withUnsafeGuaranteedRef(body)
        }

        /// Gives the connection back; same as `pool.checkin(lease)`.
        public func checkin() { withPool { $0.checkin(self) } }

        /// This loan was given back (by any copy). A relaxed load of the slot's lease word: exact for the
        /// holder's own thread, which is the only one that gives a lease back in normal use.
        public var isCheckedIn: Bool {
            withPool { pool in
                if isLane { return !pool.lane.isLent(slot, seq: seq) }
                return pool.leaseWords[slot].load(ordering: .relaxed) != seq << 1 | 1
            }
        }

        /// Records the statement being run, for the leak detector (`CheckoutRecord.lastSQL`). Takes a lock
        /// briefly (the slot's own for a lane loan, else the pool's); ignored after checkin.
        public func recordSQL(_ sql: String?) {
            withPool { pool in recordSQL(sql, in: pool) }
        }

        private func recordSQL(_ sql: String?, in pool: ConnectionPool) {
            if isLane {
                updateLaneRecord(in: pool) { $0.lastSQL = sql }
            } else {
                pool.withMachine { $0.recordSQL(sql, slot: slot, seq: seq) }
            }
        }

        /// Marks this session as expected to be long (no leak alarm). Ignored after checkin.
        public func markExpectedLong(_ isExpectedLong: Bool = true) {
            withPool { pool in markExpectedLong(isExpectedLong, in: pool) }
        }

        private func markExpectedLong(_ isExpectedLong: Bool, in pool: ConnectionPool) {
            if isLane {
                updateLaneRecord(in: pool) { $0.isExpectedLong = isExpectedLong }
            } else {
                pool.withMachine { $0.markExpectedLong(isExpectedLong, slot: slot, seq: seq) }
            }
        }

        /// Changes this lane loan's holder record (ignored once given back); the next checkout rewrites it.
        private func updateLaneRecord(in pool: ConnectionPool, _ change: (inout FastLane<Connection>.Record) -> Void) {
            pool.lane.withRecord(slot) { record in
                guard pool.lane.isLent(slot, seq: seq) else { return }
                change(&record)
                pool.lane.block(slot).pointee.recordOwner.store(0, ordering: .relaxed)
            }
        }
    }

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
    /// starts the connect breaker's trial when it is due. Pings and opens run on the pool's queue; returns at once.
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

    // MARK: Observation

    /// Counters, gauges and latency percentiles now (`leakedConnections` is left 0 for the manager).
    public func metrics() -> PoolMetrics {
        var metrics = metricsSnapshot().resolved()
        metrics.sessionResets = factory.sessionResets
        return metrics
    }

    /// The machine's counters and gauges with the lane's added in: connections parked in the lane are checked
    /// in (the machine counts them as lent), its checkouts and checkins count, and its checkouts waited 0.
    func metricsSnapshot() -> PoolMetricsSnapshot {
        laneAdjusted(state.withLock { $0.metricsSnapshot() })
    }

    /// Adds the lane's view to a snapshot the machine took.
    func laneAdjusted(_ machineSnapshot: PoolMetricsSnapshot) -> PoolMetricsSnapshot {
        var snapshot = machineSnapshot
        if let retryAt = snapshot.breakerRetryAt {
            snapshot.metrics.connectBreaker?.retryAt = wallDate(monotonic: retryAt)
        }
        let parked = min(lane.idleCount(), snapshot.metrics.checkedOut)
        snapshot.metrics.checkedIn += parked
        snapshot.metrics.checkedOut -= parked
        let (checkouts, checkins) = lane.totals()
        snapshot.metrics.totalCheckouts += checkouts
        snapshot.metrics.totalCheckins += checkins
        snapshot.metrics.utilization = Double(snapshot.metrics.checkedOut) / Double(max(1, snapshot.metrics.size))
        let laneHolds = lane.holdSamples()
        snapshot.holdSamples += laneHolds
        // The lane's checkouts never waited: as many zeros as the lane has recent hold samples.
        snapshot.waitSamples += [Int64](repeating: 0, count: min(checkouts, laneHolds.count))
        return snapshot
    }

    /// A copy of the record of every connection lent right now, oldest checkout first.
    public func checkedOutConnections() -> [CheckoutRecord] {
        let machineRecords = state.withLock { $0.checkedOutRecords() }
        var raw: [CheckoutRecordRaw] = []
        raw.reserveCapacity(machineRecords.count)
        for var record in machineRecords {
            let (laneState, seq) = lane.state(record.slot)
            switch laneState {
            case .out:
                raw.append(record)
            case .idle:
                continue  // parked: nobody holds it
            case .lent, .returning:
                lane.withRecord(record.slot) { laneRecord in
                    record.context = laneRecord.context
                    record.lastSQL = laneRecord.lastSQL
                    record.isExpectedLong = laneRecord.isExpectedLong
                }
                let leaseAt = lane.block(record.slot).pointee.leaseAt.load(ordering: .relaxed)
                // Claimed, but the claimer is still checking it (recycle age, pre-ping): nobody holds it yet, and the
                // record and the time would be an earlier loan's (the leak detector took the boot, or that loan's
                // start, for this one's).
                if leaseAt == FastLane<Connection>.leaseNotStarted { continue }
                record.checkedOutAt = leaseAt
                // Still the same loan (not given back and lent again meanwhile)?
                if lane.state(record.slot) == (laneState, seq) { raw.append(record) }
            }
        }
        raw.sort { $0.checkedOutAt < $1.checkedOutAt }
        return raw.map {
            CheckoutRecord(
                connectionID: $0.connectionID, backendPID: $0.backendPID,
                checkedOutAt: wallDate(monotonic: $0.checkedOutAt),
                checkedOutAtNanoseconds: $0.checkedOutAt, threadName: $0.context.threadName, stack: $0.context.stack,
                lastSQL: $0.lastSQL, isExpectedLong: $0.isExpectedLong, generation: $0.generation)
        }
    }
}
