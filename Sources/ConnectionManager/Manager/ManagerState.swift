import Foundation

/// The manager's own bookkeeping, guarded by one lock: events, utilization history, leak ledger and the
/// failover machine. Pure values only; I/O happens outside the lock.
struct ManagerState: Sendable {
    static let eventCapacity = 200
    static let utilizationCapacity = 300

    var events: [PoolEvent] = []
    /// The sequence of the last event appended (events are numbered from 1).
    var lastEventSequence = 0
    var utilization: [Double] = []
    var ledger = LeakLedger()
    var failover: FailoverStateMachine
    /// Connections ended on the server as leaks and not yet given back.
    var terminated: Set<Int> = []
    var isShutDown = false
    /// Lifetime counters sampled once per scan, for the last minute's counts.
    var recentWindow = RecentWindow()
    /// Whether the last check of the current target was healthy (for "recovered" events).
    var lastHealthy: Bool?
    /// The server's view of the current target, read once per scan (``ServerOverview``); `nil` before the first read.
    var serverOverview: ServerOverview?
    /// Health history per target (index as in `ConnectionPoolConfig.targets`).
    var histories: [HealthHistory]

    init(configuration: ConnectionPoolConfig) {
        histories = configuration.targets.map { _ in HealthHistory() }
        failover = FailoverStateMachine(
            targetURLs: configuration.targets.map(\.masked),
            configuration: .init(
                retryAttempts: configuration.failoverRetryAttempts, retryDelay: configuration.failoverRetryDelay,
                allowReadOnlyTargets: configuration.failoverAllowReadOnly,
                isFailbackEnabled: configuration.failbackEnabled,
                isAutomaticFailoverEnabled: configuration.failoverEnabled))
    }

    mutating func recordCheck(target: Int, result: HealthCheckResult) {
        guard histories.indices.contains(target) else { return }
        histories[target].append(result)
    }

    func checkCount(_ target: Int) -> Int {
        histories.indices.contains(target) ? histories[target].totalChecks : 0
    }

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
