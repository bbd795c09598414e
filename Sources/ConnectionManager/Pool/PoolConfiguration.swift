/// Sizing and timing of one `ConnectionPool` (SQLAlchemy `QueuePool` names, HikariCP ideas).
///
/// Values are validated where the configuration is read; the pool still clamps nonsense (negative sizes or
/// durations) instead of trapping, so a bad value degrades to the nearest sensible one.
public struct PoolConfiguration: Sendable, Equatable {
    /// Persistent connections kept open once opened. Default 5; at least 1.
    public var poolSize: Int
    /// Temporary connections allowed above `poolSize`; closed once idle for `overflowIdleTimeout` while the pool
    /// holds more than `poolSize` open connections. Default 10; at least 0.
    public var maxOverflow: Int
    /// How long a checkout waits for a connection before failing with `PoolError.timedOut`. Default 30 s.
    public var poolTimeout: Duration
    /// Connections older than this (since opened) are closed and replaced at checkout. Default `nil` (never).
    public var recycle: Duration?
    /// A connection idle longer than this is pinged at checkout. `.zero` pings every checkout, `nil` never.
    /// Default 0.5 s (HikariCP's aliveness bypass).
    public var prePingAfterIdle: Duration?
    /// Deadline given to the factory for one connection attempt. Default 10 s.
    public var connectTimeout: Duration
    /// Idle connections older than this (since last used or pinged) are pinged by `runMaintenance()` so that a
    /// firewall or the server's `idle_session_timeout` does not drop them unseen (HikariCP `keepaliveTime`).
    /// `nil` never. Default `nil`.
    public var keepalive: Duration?
    /// `runMaintenance()` opens connections in the background until this many are idle (HikariCP
    /// `minimumIdle`), never above `poolSize`. Default 0.
    public var minIdle: Int
    /// An overflow connection (one above `poolSize`) idle this long is closed by `runMaintenance()`; `.zero`
    /// closes it as soon as it is given back (without maintenance ticks). Default `.zero`.
    public var overflowIdleTimeout: Duration

    public init(
        poolSize: Int = 5, maxOverflow: Int = 10, poolTimeout: Duration = .seconds(30), recycle: Duration? = nil,
        prePingAfterIdle: Duration? = .milliseconds(500), connectTimeout: Duration = .seconds(10),
        keepalive: Duration? = nil, minIdle: Int = 0, overflowIdleTimeout: Duration = .zero
    ) {
        self.poolSize = poolSize
        self.maxOverflow = maxOverflow
        self.poolTimeout = poolTimeout
        self.recycle = recycle
        self.prePingAfterIdle = prePingAfterIdle
        self.connectTimeout = connectTimeout
        self.keepalive = keepalive
        self.minIdle = minIdle
        self.overflowIdleTimeout = overflowIdleTimeout
    }

    /// The same configuration with every value forced into its valid range.
    var clamped: PoolConfiguration {
        PoolConfiguration(
            poolSize: max(1, poolSize), maxOverflow: max(0, maxOverflow), poolTimeout: max(.zero, poolTimeout),
            recycle: recycle.map { max(.zero, $0) }, prePingAfterIdle: prePingAfterIdle.map { max(.zero, $0) },
            connectTimeout: max(.milliseconds(1), connectTimeout),
            keepalive: keepalive.map { max(.milliseconds(1), $0) },
            minIdle: min(max(0, minIdle), max(1, poolSize)), overflowIdleTimeout: max(.zero, overflowIdleTimeout))
    }
}

extension Duration {
    /// Whole nanoseconds, saturating at `Int64.max` (about 292 years).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        let (sum, overflow2) = product.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? Int64.max : sum
    }
}
