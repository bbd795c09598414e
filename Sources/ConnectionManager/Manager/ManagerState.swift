import Foundation

/// Everything behind the manager's one lock: the decisions (``ManagerStateMachine``: failover, health histories,
/// leak ledger, connections ended as leaks) and the records the snapshot reads (events, utilization, the last
/// minute's counters, the server view). Pure values only; I/O happens outside the lock.
struct ManagerState: Sendable {
    static let eventCapacity = 200
    static let utilizationCapacity = 300

    var machine: ManagerStateMachine
    var events: [PoolEvent] = []
    /// The sequence of the last event appended (events are numbered from 1).
    var lastEventSequence = 0
    var utilization: [Double] = []
    var isShutDown = false
    /// Lifetime counters sampled once per scan, for the last minute's counts.
    var recentWindow = RecentWindow()
    /// The server's view of the current target, read once per scan (``ServerOverview``); `nil` before the first read.
    var serverOverview: ServerOverview?

    init(configuration: ConnectionPoolConfig, startedAt: Date) {
        machine = ManagerStateMachine(
            configuration: .init(
                targetURLs: configuration.targets.map(\.masked),
                failover: .init(
                    retryAttempts: configuration.failoverRetryAttempts, retryDelay: configuration.failoverRetryDelay,
                    allowReadOnlyTargets: configuration.failoverAllowReadOnly,
                    isFailbackEnabled: configuration.failbackEnabled,
                    isAutomaticFailoverEnabled: configuration.failoverEnabled),
                startedAt: startedAt, hasHealthMonitor: configuration.healthCheckEnabled))
    }

    /// The machine's records, read by the snapshot and the control endpoint.
    var failover: FailoverStateMachine { machine.failover }
    var histories: [HealthHistory] { machine.histories }
    var ledger: LeakLedger { machine.ledger }

    mutating func appendEvent(_ event: PoolEvent) {
        if events.count >= Self.eventCapacity { events.removeFirst(events.count - Self.eventCapacity + 1) }
        lastEventSequence += 1
        var numbered = event
        numbered.sequence = lastEventSequence
        events.append(numbered)
    }

    mutating func appendUtilization(_ value: Double) {
        if utilization.count >= Self.utilizationCapacity {
            utilization.removeFirst(utilization.count - Self.utilizationCapacity + 1)
        }
        utilization.append(value)
    }
}
