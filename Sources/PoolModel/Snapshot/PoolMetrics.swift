#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Latency percentiles in seconds, computed over a recent window of samples.
public struct LatencySummary: Sendable, Equatable, Codable {
    public var p50: Double
    public var p95: Double
    public var p99: Double
    public var max: Double
    public var count: Int

    public init(p50: Double = 0, p95: Double = 0, p99: Double = 0, max: Double = 0, count: Int = 0) {
        self.p50 = p50
        self.p95 = p95
        self.p99 = p99
        self.max = max
        self.count = count
    }
}

/// The pool's connect breaker (see `ConnectBreaker`): whether it may open connections now.
public struct ConnectBreakerStatus: Sendable, Equatable, Codable {
    /// `closed` (opens go ahead), `open` (backing off until `retryAt`) or `half_open` (one trial open in flight).
    public enum State: String, Sendable, Equatable, Codable {
        case closed, open
        case halfOpen = "half_open"
    }
    public var state: State
    /// Failed connection attempts in a row (0 while closed).
    public var failures: Int
    /// When the next attempt may start (while open); nil while closed.
    public var retryAt: Date?

    public init(state: State = .closed, failures: Int = 0, retryAt: Date? = nil) {
        self.state = state
        self.failures = failures
        self.retryAt = retryAt
    }

    enum CodingKeys: String, CodingKey {
        case state, failures
        case retryAt = "retry_at"
    }
}

/// Point-in-time counters and gauges of a pool. JSON keys are the seed's snake_case names.
///
/// `utilization` is `checkedOut / poolSize` (so it exceeds 1.0 while overflow connections are in
/// use), as the seed defined it.
public struct PoolMetrics: Sendable, Equatable, Codable {
    /// Configured persistent size (`poolSize`).
    public var size: Int
    /// Configured `maxOverflow`.
    public var maxOverflow: Int
    /// Open connections idle in the pool.
    public var checkedIn: Int
    /// Connections currently lent to callers.
    public var checkedOut: Int
    /// Open connections above `size` (temporary ones).
    public var overflow: Int
    /// Connections being opened right now.
    public var connecting: Int
    /// Callers waiting for a connection.
    public var waiting: Int
    public var totalCheckouts: Int
    public var totalCheckins: Int
    public var connectionsCreated: Int
    public var connectionsClosed: Int
    /// Connections discarded because they were stale, broken, recycled or evicted.
    public var invalidations: Int
    /// Checkouts that failed because the pool stayed saturated for `poolTimeout`.
    public var timeouts: Int
    /// Attempts to open a connection that failed (server unreachable, auth, deadline).
    public var connectFailures: Int
    /// Connections currently held longer than the leak threshold.
    public var leakedConnections: Int
    /// `checkedOut / size`.
    public var utilization: Double
    /// Time callers waited for a connection (seconds).
    public var waitTime: LatencySummary
    /// Time callers held a connection (seconds).
    public var holdTime: LatencySummary
    /// True while checkouts are suspended.
    public var isSuspended: Bool
    /// Current pool generation; bumped when the server restarted or the target changed.
    public var generation: Int
    /// Of `timeouts`, those of checkouts that waited while the pool was suspended (not saturation).
    public var timeoutsWhileSuspended: Int
    /// Checkins that restored a connection's session state with `DISCARD ALL` (see ``SessionResetPolicy``).
    public var sessionResets: Int
    /// Whether the pool may open connections now; nil from a producer that does not report it.
    public var connectBreaker: ConnectBreakerStatus?

    public init(
        size: Int = 0, maxOverflow: Int = 0, checkedIn: Int = 0, checkedOut: Int = 0, overflow: Int = 0,
        connecting: Int = 0, waiting: Int = 0, totalCheckouts: Int = 0, totalCheckins: Int = 0,
        connectionsCreated: Int = 0, connectionsClosed: Int = 0, invalidations: Int = 0, timeouts: Int = 0,
        connectFailures: Int = 0, leakedConnections: Int = 0, utilization: Double = 0,
        waitTime: LatencySummary = .init(), holdTime: LatencySummary = .init(), isSuspended: Bool = false,
        generation: Int = 0, timeoutsWhileSuspended: Int = 0, sessionResets: Int = 0,
        connectBreaker: ConnectBreakerStatus? = nil
    ) {
        self.timeoutsWhileSuspended = timeoutsWhileSuspended
        self.size = size
        self.maxOverflow = maxOverflow
        self.checkedIn = checkedIn
        self.checkedOut = checkedOut
        self.overflow = overflow
        self.connecting = connecting
        self.waiting = waiting
        self.totalCheckouts = totalCheckouts
        self.totalCheckins = totalCheckins
        self.connectionsCreated = connectionsCreated
        self.connectionsClosed = connectionsClosed
        self.invalidations = invalidations
        self.timeouts = timeouts
        self.connectFailures = connectFailures
        self.leakedConnections = leakedConnections
        self.utilization = utilization
        self.waitTime = waitTime
        self.holdTime = holdTime
        self.isSuspended = isSuspended
        self.generation = generation
        self.sessionResets = sessionResets
        self.connectBreaker = connectBreaker
    }

    enum CodingKeys: String, CodingKey {
        case size, overflow, waiting, connecting, invalidations, timeouts, utilization, generation
        case maxOverflow = "max_overflow"
        case checkedIn = "checked_in"
        case checkedOut = "checked_out"
        case totalCheckouts = "total_checkouts"
        case totalCheckins = "total_checkins"
        case connectionsCreated = "connections_created"
        case connectionsClosed = "connections_closed"
        case connectFailures = "connect_failures"
        case leakedConnections = "leaked_connections"
        case waitTime = "wait_time"
        case holdTime = "hold_time"
        case isSuspended = "suspended"
        case timeoutsWhileSuspended = "timeouts_while_suspended"
        case sessionResets = "session_resets"
        case connectBreaker = "connect_breaker"
    }
}
