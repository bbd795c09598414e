import Metrics
import Synchronization

/// Publishes the pool's metrics through swift-metrics (so a Prometheus or StatsD backend picks them up).
///
/// Updated from ``PoolMetrics`` on the manager's scan tick, never on the checkout path: gauges are set,
/// counters get the increase since the previous tick.
final class MetricsReporter: Sendable {
    private let size, checkedIn, checkedOut, overflow, waiting, utilization, leaked: Gauge
    private let checkouts, created, closed, invalidations, timeouts, connectFailures: Counter
    private let waitP99, holdP99: Gauge
    private let previous = PoolLock<PoolMetrics?>(nil)

    init(label: String) {
        size = Gauge(label: "\(label).size")
        checkedIn = Gauge(label: "\(label).checked_in")
        checkedOut = Gauge(label: "\(label).checked_out")
        overflow = Gauge(label: "\(label).overflow")
        waiting = Gauge(label: "\(label).waiting")
        utilization = Gauge(label: "\(label).utilization")
        leaked = Gauge(label: "\(label).leaked_connections")
        checkouts = Counter(label: "\(label).checkouts")
        created = Counter(label: "\(label).connections_created")
        closed = Counter(label: "\(label).connections_closed")
        invalidations = Counter(label: "\(label).invalidations")
        timeouts = Counter(label: "\(label).timeouts")
        connectFailures = Counter(label: "\(label).connect_failures")
        waitP99 = Gauge(label: "\(label).wait_time_p99_seconds")
        holdP99 = Gauge(label: "\(label).hold_time_p99_seconds")
    }

    func report(_ m: PoolMetrics) {
        size.record(m.size)
        checkedIn.record(m.checkedIn)
        checkedOut.record(m.checkedOut)
        overflow.record(m.overflow)
        waiting.record(m.waiting)
        utilization.record(m.utilization)
        leaked.record(m.leakedConnections)
        waitP99.record(m.waitTime.p99)
        holdP99.record(m.holdTime.p99)
        let before = previous.withLock { p in
            defer { p = m }
            return p ?? PoolMetrics()
        }
        checkouts.increment(by: max(0, m.totalCheckouts - before.totalCheckouts))
        created.increment(by: max(0, m.connectionsCreated - before.connectionsCreated))
        closed.increment(by: max(0, m.connectionsClosed - before.connectionsClosed))
        invalidations.increment(by: max(0, m.invalidations - before.invalidations))
        timeouts.increment(by: max(0, m.timeouts - before.timeouts))
        connectFailures.increment(by: max(0, m.connectFailures - before.connectFailures))
    }
}
