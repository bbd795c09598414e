import Foundation

extension ConnectionManager {
    /// Everything the dashboard shows, in one consistent value. Takes two short locks; no I/O.
    public func snapshot() -> ManagerSnapshot { controlSnapshot().snapshot }

    /// ``snapshot()`` and the health sequence of each of its `healthHistory` results (taken under the same
    /// lock), for `GET /v1/snapshot?health_after=N`.
    func controlSnapshot() -> ControlSnapshot {
        let now = Date()
        var metrics = pool.metrics()
        let s = state.withLock { s in
            (
                utilization: s.utilization, history: s.histories[s.failover.current], leaks: s.ledger.leaks(now: now),
                returned: s.ledger.returnedLeaks(now: now), totalLeaked: s.ledger.totalLeaked,
                failover: s.failover.stats, events: s.events, server: s.serverOverview,
                recent: s.recentWindow.activity(current: Self.sample(metrics, s.histories[s.failover.current], now)),
                healthSequences: s.histories[s.failover.current].sequences
            )
        }
        metrics.leakedConnections = s.leaks.count
        let health = HealthVerdict.judge(
            last: s.history.latest, checksEnabled: configuration.healthCheckEnabled,
            interval: configuration.healthCheckInterval, deadline: configuration.connectTimeout * 2, now: now)
        let snapshot = ManagerSnapshot(
            takenAt: now, startedAt: startedAt, metrics: metrics, utilizationHistory: s.utilization,
            lastHealthCheck: s.history.latest, healthHistory: s.history.results, healthStats: s.history.stats,
            leaks: s.leaks, returnedLeaks: s.returned, totalLeaked: s.totalLeaked,
            activeConnections: metrics.checkedOut, leakThreshold: configuration.leakThreshold.timeInterval,
            failover: s.failover, events: s.events, health: health, recent: s.recent, server: s.server
        ).scrubbing(secrets)
        return ControlSnapshot(snapshot: snapshot, healthSequences: s.healthSequences)
    }

    /// The lifetime counters the last minute's counts are derived from.
    static func sample(_ metrics: PoolMetrics, _ history: HealthHistory, _ now: Date) -> RecentWindow.Sample {
        RecentWindow.Sample(
            at: now, connectFailures: metrics.connectFailures, timeouts: metrics.timeouts,
            timeoutsWhileSuspended: metrics.timeoutsWhileSuspended,
            failedChecks: history.totalChecks - history.healthyChecks)
    }

    /// The seed's comprehensive status (`healthy`, `pool_metrics`, `health_check`, `health_stats`,
    /// `failover_stats`, `leak_detection`). Healthy when the last check of the current target passed.
    public func healthStatus() -> HealthStatus {
        HealthStatus(snapshot: snapshot(), leakDetectionEnabled: configuration.leakDetectionEnabled)
    }

    /// The seed's `detectConnectionLeaks()`: the connections held past the threshold right now.
    public func detectConnectionLeaks() -> [LeakReport] {
        state.withLock { $0.ledger.leaks(now: Date()) }
    }

    // MARK: MonitorSource

    /// Runs a dashboard command; may block on the network (probes, `pg_terminate_backend`).
    public func perform(_ command: MonitorCommand) -> MonitorCommandOutcome {
        performUnscrubbed(command).scrubbing(secrets)
    }

    private func performUnscrubbed(_ command: MonitorCommand) -> MonitorCommandOutcome {
        switch command {
        case .failover(let target):
            return failover(to: target)
        case .terminateLeak(let connectionID):
            return terminate(leak: connectionID)
        case .suspend:
            suspend()
            return MonitorCommandOutcome(succeeded: true, message: "The pool is suspended: checkouts wait.")
        case .resume:
            resume()
            return MonitorCommandOutcome(succeeded: true, message: "The pool is resumed.")
        case .evictIdle:
            evictIdle()
            return MonitorCommandOutcome(
                succeeded: true, message: "Idle connections were closed; lent ones close when returned.")
        case .cancelBackend(let pid):
            return cancelBackend(pid: pid)
        case .terminateBackend(let pid):
            return terminateBackend(pid: pid)
        }
    }

    /// Symbolicated checkout stack of a checked-out or recently leaked connection (empty when not captured).
    public func checkoutStack(connectionID: Int) -> [StackFrame] {
        let stack =
            state.withLock { $0.ledger.stack(connectionID: connectionID) }
            ?? pool.checkedOutConnections().first { $0.connectionID == connectionID }?.stack
        return stack?.symbolicated() ?? []
    }
}
