/// Sizing and timing of one `ConnectionPool` (SQLAlchemy `QueuePool` names, HikariCP ideas).
///
/// Values are validated where the configuration is read; the pool still clamps nonsense (negative sizes or
/// durations) instead of trapping, so a bad value degrades to the nearest sensible one.
public struct PoolConfiguration: Sendable, Equatable {
    /// Persistent connections kept open once opened. Default 5; at least 1.
    public var poolSize: Int
    /// Temporary connections allowed above `poolSize`; closed when given back while the pool holds more than
    /// `poolSize` open connections. Default 10; at least 0.
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

    public init(
        poolSize: Int = 5, maxOverflow: Int = 10, poolTimeout: Duration = .seconds(30), recycle: Duration? = nil,
        prePingAfterIdle: Duration? = .milliseconds(500), connectTimeout: Duration = .seconds(10)
    ) {
        self.poolSize = poolSize
        self.maxOverflow = maxOverflow
        self.poolTimeout = poolTimeout
        self.recycle = recycle
        self.prePingAfterIdle = prePingAfterIdle
        self.connectTimeout = connectTimeout
    }

    /// The same configuration with every value forced into its valid range.
    var clamped: PoolConfiguration {
        PoolConfiguration(
            poolSize: max(1, poolSize), maxOverflow: max(0, maxOverflow), poolTimeout: max(.zero, poolTimeout),
            recycle: recycle.map { max(.zero, $0) }, prePingAfterIdle: prePingAfterIdle.map { max(.zero, $0) },
            connectTimeout: max(.milliseconds(1), connectTimeout))
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
