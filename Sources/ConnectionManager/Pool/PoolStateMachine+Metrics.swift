/// Gauges and counters taken under the lock; percentiles are computed later, outside it.
struct PoolMetricsSnapshot: Sendable, Equatable {
    /// Every field except the latency summaries.
    var metrics: PoolMetrics
    var waitSamples: [Int64]
    var holdSamples: [Int64]
    /// Monotonic: when the breaker's backoff ends (the shell converts it into `metrics.connectBreaker.retryAt`).
    var breakerRetryAt: Int64?

    /// The complete metrics (sorts the samples: call it outside the lock).
    func resolved() -> PoolMetrics {
        var result = metrics
        result.waitTime = SampleRing.summary(of: waitSamples)
        result.holdTime = SampleRing.summary(of: holdSamples)
        return result
    }
}

/// A lent connection as the machine knows it (monotonic time; the shell converts to `Date`).
struct CheckoutRecordRaw {
    var slot: Int
    var connectionID: Int
    var backendPID: Int32
    var checkedOutAt: Int64
    var context: LeaseContext
    var lastSQL: String?
    var isExpectedLong: Bool
    var generation: Int
}

extension PoolStateMachine {
    /// Counters and gauges now; with `copySamples` also a copy of the latency windows.
    func metricsSnapshot(copySamples: Bool = true) -> PoolMetricsSnapshot {
        let open = openCount
        let metrics = PoolMetrics(
            size: poolSize, maxOverflow: maxOverflow, checkedIn: idle.count + pingingCount, checkedOut: leasedCount,
            overflow: max(0, open - poolSize), connecting: connectingCount, waiting: waiters.count,
            totalCheckouts: counters.totalCheckouts, totalCheckins: counters.totalCheckins,
            connectionsCreated: counters.connectionsCreated, connectionsClosed: counters.connectionsClosed,
            invalidations: counters.invalidations, timeouts: counters.timeouts,
            connectFailures: counters.connectFailures, leakedConnections: 0,
            utilization: Double(leasedCount) / Double(poolSize), isSuspended: lifecycle == .suspended,
            generation: generation, timeoutsWhileSuspended: counters.timeoutsWhileSuspended,
            connectBreaker: breakerStatus)
        return PoolMetricsSnapshot(
            metrics: metrics, waitSamples: copySamples ? waitSamples.copy() : [],
            holdSamples: copySamples ? holdSamples.copy() : [],
            breakerRetryAt: breaker.isClosed ? nil : breaker.retryAt)
    }

    /// The breaker as the metrics show it (`retryAt` is filled in by the shell, which knows the wall clock).
    var breakerStatus: ConnectBreakerStatus {
        switch breaker.state {
        case .closed: ConnectBreakerStatus(state: .closed, failures: 0)
        case .open: ConnectBreakerStatus(state: .open, failures: breaker.failures)
        case .halfOpen: ConnectBreakerStatus(state: .halfOpen, failures: breaker.failures)
        }
    }

    /// Complete metrics including percentiles (for tests; the shell resolves outside its lock).
    func metrics() -> PoolMetrics { metricsSnapshot().resolved() }

    /// Every lent connection, oldest checkout first.
    func checkedOutRecords() -> [CheckoutRecordRaw] {
        var records: [CheckoutRecordRaw] = []
        records.reserveCapacity(leasedCount)
        for (index, slot) in slots.enumerated() {
            guard case .leased = slot.state else { continue }
            records.append(
                CheckoutRecordRaw(
                    slot: index, connectionID: slot.connectionID, backendPID: slot.backendPID,
                    checkedOutAt: slot.checkedOutAt,
                    context: slot.context, lastSQL: slot.lastSQL, isExpectedLong: slot.isExpectedLong,
                    generation: slot.generation))
        }
        records.sort { $0.checkedOutAt < $1.checkedOutAt }
        return records
    }

    /// A description of the first broken invariant, or `nil` when all hold. For tests and debugging.
    func invariantViolation() -> String? {
        var idleSlots = 0
        var leasedSlots = 0
        var connectingSlots = 0
        var pingingSlots = 0
        var emptySlots = 0
        var causes: [PoolRequestID] = []
        for slot in slots {
            switch slot.state {
            case .empty:
                emptySlots += 1
                if slot.connection != nil { return "an empty slot holds a connection" }
            case .connecting(let cause):
                connectingSlots += 1
                if let cause { causes.append(cause) }
            case .idle:
                idleSlots += 1
                if slot.connection == nil { return "an idle slot has no connection" }
            case .leased:
                leasedSlots += 1
                if slot.connection == nil { return "a leased slot has no connection" }
            case .pinging:
                pingingSlots += 1
                if slot.connection == nil { return "a pinging slot has no connection" }
            }
        }
        if idleSlots != idle.count { return "idle list \(idle.count) != idle slots \(idleSlots)" }
        if Set(idle).count != idle.count { return "idle list has duplicates" }
        if leasedSlots != leasedCount { return "leasedCount \(leasedCount) != leased slots \(leasedSlots)" }
        if pingingSlots != pingingCount { return "pingingCount \(pingingCount) != pinging slots \(pingingSlots)" }
        if connectingSlots != connectingCount { return "connectingCount \(connectingCount) != \(connectingSlots)" }
        if emptySlots != free.count { return "free list \(free.count) != empty slots \(emptySlots)" }
        var woken = 0
        var sleeping = 0
        for index in 0..<waiters.count {
            if waiters[index].isWoken { woken += 1 } else { sleeping += 1 }
            if waiters[index].isWoken && !waiters[index].retries { return "a waiter that cannot retry was woken" }
        }
        if woken != wokenCount { return "wokenCount \(wokenCount) != woken waiters \(woken)" }
        if lifecycle == .running, idle.count > wokenCount, sleeping > 0 {
            return "more idle connections than woken waiters while a waiter sleeps"
        }
        var waiting = 0
        for index in 0..<waiters.count {
            let request = waiters[index]
            let owned = causes.filter { $0 == request.id }.count
            if request.hasOpen != (owned == 1) || owned > 1 { return "waiter \(request.id) open bookkeeping" }
            waiting += 1
        }
        if causes.count > waiting { return "an open belongs to a request that no longer waits" }
        if lifecycle == .running, breaker.isClosed, !free.isEmpty,
            (0..<waiters.count).contains(where: { !waiters[$0].hasOpen })
        {
            return "a waiter has no open although there is room"
        }
        let m = metricsSnapshot(copySamples: false).metrics
        if m.checkedIn + m.checkedOut != openCount { return "checked_in + checked_out != open" }
        if m.connectionsCreated - m.connectionsClosed != openCount { return "created - closed != open" }
        return nil
    }
}
