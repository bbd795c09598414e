#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Everything the dashboard shows, taken at one instant. Cheap to take ten times a second.
///
/// `Codable` as the control endpoint's snapshot JSON (schema version ``ManagerSnapshot/schemaVersion``):
/// snake_case keys, times in seconds, timestamps ISO 8601 with fractional seconds (``ControlJSON``), URLs masked.
public struct ManagerSnapshot: Sendable, Equatable, Codable {
    /// Version of the JSON schema written by ``ControlJSON``; bumped when a key changes meaning or goes away
    /// (new keys do not bump it: readers ignore keys they do not know).
    public static let schemaVersion = 1

    public var takenAt: Date
    public var startedAt: Date
    public var metrics: PoolMetrics
    /// Utilization samples (`checkedOut / size`), oldest first, one per health/refresh tick.
    public var utilizationHistory: [Double]
    /// Latest health check of the current target; `nil` before the first one.
    public var lastHealthCheck: HealthCheckResult?
    /// Health history of the current target, oldest first.
    public var healthHistory: [HealthCheckResult]
    public var healthStats: HealthStats
    /// Connections held longer than the threshold, oldest first.
    public var leaks: [LeakReport]
    /// Leaks that came back recently, newest first.
    public var returnedLeaks: [ReturnedLeak]
    public var totalLeaked: Int
    /// Connections checked out right now (leaked or not).
    public var activeConnections: Int
    public var leakThreshold: Double
    public var failover: FailoverStats
    /// Recent events, oldest first.
    public var events: [PoolEvent]
    /// What can honestly be said about the current target's health now (no "healthy" before the first check or
    /// with a frozen timestamp).
    public var health: HealthVerdict
    /// Trouble in the last minute (lifetime totals are in `metrics`).
    public var recent: RecentActivity
    /// The server's view of the current target (sessions, blocking chains, the blocked-sessions alarm); `nil`
    /// before the first read, without periodic health checks, and from a service that does not send it.
    public var server: ServerOverview?

    public init(
        takenAt: Date, startedAt: Date, metrics: PoolMetrics, utilizationHistory: [Double] = [],
        lastHealthCheck: HealthCheckResult? = nil, healthHistory: [HealthCheckResult] = [],
        healthStats: HealthStats = .init(), leaks: [LeakReport] = [], returnedLeaks: [ReturnedLeak] = [],
        totalLeaked: Int = 0, activeConnections: Int = 0, leakThreshold: Double = 300, failover: FailoverStats,
        events: [PoolEvent] = [], health: HealthVerdict? = nil, recent: RecentActivity = .init(),
        server: ServerOverview? = nil
    ) {
        self.server = server
        // Without a verdict from the manager: the last check taken as it is (no staleness rule without an interval).
        self.health =
            health
            ?? HealthVerdict.judge(
                last: lastHealthCheck, checksEnabled: false, interval: .zero, deadline: .zero, now: takenAt)
        self.recent = recent
        self.takenAt = takenAt
        self.startedAt = startedAt
        self.metrics = metrics
        self.utilizationHistory = utilizationHistory
        self.lastHealthCheck = lastHealthCheck
        self.healthHistory = healthHistory
        self.healthStats = healthStats
        self.leaks = leaks
        self.returnedLeaks = returnedLeaks
        self.totalLeaked = totalLeaked
        self.activeConnections = activeConnections
        self.leakThreshold = leakThreshold
        self.failover = failover
        self.events = events
    }

    enum CodingKeys: String, CodingKey {
        case metrics = "pool_metrics"
        case takenAt = "taken_at"
        case startedAt = "started_at"
        case utilizationHistory = "utilization_history"
        case lastHealthCheck = "health_check"
        case healthHistory = "health_history"
        case healthStats = "health_stats"
        case leaks
        case returnedLeaks = "returned_leaks"
        case totalLeaked = "total_leaked"
        case activeConnections = "active_connections"
        case leakThreshold = "leak_threshold"
        case failover = "failover_stats"
        case events, health, recent, server
    }

    /// Healthy when the last check passed (or none ran yet) and the current target is reachable.
    public var isHealthy: Bool { lastHealthCheck?.healthy ?? true }
}

/// Commands a monitor (the dashboard) sends back to what it watches.
public enum MonitorCommand: Sendable, Equatable {
    /// Fail over to the target at this index, or the next suitable one when `nil`.
    case failover(toTarget: Int?)
    /// End the leaked connection with this id on the server and invalidate it in the pool.
    case terminateLeak(connectionID: Int)
    case suspend
    case resume
    /// Close idle connections now and busy ones when they come back.
    case evictIdle
    /// Cancel the running statement of a session on the current target (`pg_cancel_backend`).
    case cancelBackend(pid: Int32)
    /// End a session on the current target (`pg_terminate_backend`).
    case terminateBackend(pid: Int32)
}

/// What happened when a command ran: a sentence for a person.
public struct MonitorCommandOutcome: Sendable, Equatable {
    public var succeeded: Bool
    public var message: String

    public init(succeeded: Bool, message: String) {
        self.succeeded = succeeded
        self.message = message
    }
}

/// Where a monitor gets its data: a manager in this process, or a service's manager read through its
/// control endpoint (`RemoteMonitorSource`).
public protocol MonitorSource: AnyObject, Sendable {
    /// Whose pool this is, so the screen can say it (default: ``SourceDescription/embedded``).
    var sourceDescription: SourceDescription { get }
    /// Whether `snapshot()` is current (default: always ``SourceStatus/live``).
    func sourceStatus() -> SourceStatus
    /// One consistent view of everything; never blocks on the network (a remote source returns the latest
    /// one it received).
    func snapshot() -> ManagerSnapshot
    /// Runs a command; may block on the network (call it off the UI thread).
    func perform(_ command: MonitorCommand) -> MonitorCommandOutcome
    /// Symbolicated checkout stack of a currently or recently leaked connection.
    func checkoutStack(connectionID: Int) -> [StackFrame]
}
