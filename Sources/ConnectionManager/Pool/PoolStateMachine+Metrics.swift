/// Gauges and counters taken under the lock; percentiles are computed later, outside it. The machine fills in
/// what it knows (slots, waiters, opens, closes, the breaker); the shell adds what holders record in the lane
/// (`ConnectionPool.withLoanFacts`: checkouts, checkins, wait and hold samples, which slots out are parked).
struct PoolMetricsSnapshot: Sendable, Equatable {
    /// Every field except the latency summaries.
    var metrics: PoolMetrics
    var waitSamples: [Int64] = []
    var holdSamples: [Int64] = []
    /// Monotonic: when the breaker's backoff ends (the shell converts it into `metrics.connectBreaker.retryAt`).
    var breakerRetryAt: Int64?

    /// The complete metrics (sorts the samples: call it outside the lock).
    func resolved() -> PoolMetrics {
        var result = metrics
        result.waitTime = LatencyWindow.summary(of: waitSamples)
        result.holdTime = LatencyWindow.summary(of: holdSamples)
        return result
    }
}

extension PoolStateMachine {
    /// The machine's counters and gauges now (`checkedOut` counts every slot out, parked in the lane or not).
    func metricsSnapshot() -> PoolMetricsSnapshot {
        let open = openCount
        let metrics = PoolMetrics(
            size: poolSize, maxOverflow: maxOverflow, checkedIn: idle.count + pingingCount, checkedOut: outCount,
            overflow: max(0, open - poolSize), connecting: connectingCount, waiting: waiters.count,
            connectionsCreated: counters.connectionsCreated, connectionsClosed: counters.connectionsClosed,
            invalidations: counters.invalidations, timeouts: counters.timeouts,
            connectFailures: counters.connectFailures, leakedConnections: 0,
            utilization: Double(outCount) / Double(poolSize), isSuspended: lifecycle == .suspended,
            generation: generation, timeoutsWhileSuspended: counters.timeoutsWhileSuspended,
            connectBreaker: breakerStatus)
        return PoolMetricsSnapshot(
            metrics: metrics, breakerRetryAt: breaker.isClosed ? nil : breaker.retryAt)
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

    /// A description of the first broken invariant, or `nil` when all hold. For tests and debugging.
    func invariantViolation() -> String? {
        var idleSlots = 0
        var outSlots = 0
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
            case .out:
                outSlots += 1
                if slot.connection == nil { return "an out slot has no connection" }
            case .pinging:
                pingingSlots += 1
                if slot.connection == nil { return "a pinging slot has no connection" }
            }
        }
        if idleSlots != idle.count { return "idle list \(idle.count) != idle slots \(idleSlots)" }
        if Set(idle).count != idle.count { return "idle list has duplicates" }
        if outSlots != outCount { return "outCount \(outCount) != out slots \(outSlots)" }
        if pingingSlots != pingingCount { return "pingingCount \(pingingCount) != pinging slots \(pingingSlots)" }
        if connectingSlots != connectingCount { return "connectingCount \(connectingCount) != \(connectingSlots)" }
        if emptySlots != free.count { return "free list \(free.count) != empty slots \(emptySlots)" }
        var woken = 0
        var sleeping = 0
        for index in 0..<waiters.count {
            if waiters[index].isWoken { woken += 1 } else { sleeping += 1 }
            if waiters[index].isWoken && !waiters[index].retries { return "a waiter that cannot retry was woken" }
            let deadline = waiters[index].deadline
            if deadline != .max, deadlineCheckAt == 0 || deadlineCheckAt > deadline {
                return "a waiter's deadline \(deadline) comes before the armed deadline check (\(deadlineCheckAt))"
            }
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
        let m = metricsSnapshot().metrics
        if m.checkedIn + m.checkedOut != openCount { return "checked_in + checked_out != open" }
        if m.connectionsCreated - m.connectionsClosed != openCount { return "created - closed != open" }
        return nil
    }
}
