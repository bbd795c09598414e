import Foundation

/// Every knob of a ``ConnectionManager``, with the seed's defaults.
///
/// Durations are `Duration`s; in the environment they are seconds (`30`, `0.25`) or carry a unit
/// (`250ms`, `2s`, `5m`). Call ``validate()`` (the manager does) to get a typed error for nonsense.
public struct ConnectionPoolConfig: Sendable, Equatable {
    /// The server the pool uses first. `postgresql://`, `postgres://` or a libpq keyword string.
    public var databaseURL: DatabaseURL
    /// Persistent connections kept open (SQLAlchemy `pool_size`). Default 10.
    public var poolSize: Int = 10
    /// Temporary connections allowed above `poolSize` (SQLAlchemy `max_overflow`), closed after
    /// `overflowIdleTimeout` idle. Default 20.
    public var maxOverflow: Int = 20
    /// How long an overflow connection may stay idle before it is closed (checked once a second), so a steady
    /// load above `poolSize` reuses it instead of opening one per checkout; `.zero` closes it when given back
    /// (SQLAlchemy). Default 10 s.
    public var overflowIdleTimeout: Duration = .seconds(10)
    /// Idle connections unused for this long get a cheap ping (once a second at most, off the checkout path) so
    /// that a firewall or the server's `idle_session_timeout` does not drop them unseen (HikariCP `keepaliveTime`);
    /// `nil` disables. Default 120 s.
    public var keepalive: Duration? = .seconds(120)
    /// Connections kept idle, opened in the background (HikariCP `minimumIdle`), at most `poolSize`. Default 0:
    /// connections open on demand (set `prefill` to open `poolSize` once at start).
    public var minIdle: Int = 0
    /// Longest a checkout waits for a free connection before failing with ``PoolError/timedOut(waited:metrics:)``. Default 30 s.
    public var poolTimeout: Duration = .seconds(30)
    /// A connection older than this is closed and replaced at checkout; `nil` disables. Default 3600 s.
    public var poolRecycle: Duration? = .seconds(3600)
    /// Check a connection is alive at checkout and replace a dead one transparently. Default true.
    public var poolPrePing: Bool = true
    /// With pre-ping on, a connection given back less than this ago is trusted without a round trip
    /// (HikariCP's aliveness bypass); `.zero` pings on every checkout (SQLAlchemy). Default 0.5 s.
    public var prePingAfterIdle: Duration = .milliseconds(500)
    /// Open `poolSize` connections at start instead of on demand. Default false.
    public var prefill: Bool = false
    /// Track checked-out connections and report those held longer than `leakThreshold`. Default true.
    public var leakDetectionEnabled: Bool = true
    /// How long a checkout may be held before it is reported as a leak. Default 300 s.
    public var leakThreshold: Duration = .seconds(300)
    /// When to capture the checkout stack of a connection. Default `.always` (≈ 5 µs per checkout).
    public var stackCapture: StackCaptureMode = .always
    /// Run periodic health checks on a connection of their own. Default true.
    public var healthCheckEnabled: Bool = true
    /// Time between health checks. Default 60 s.
    public var healthCheckInterval: Duration = .seconds(60)
    /// Switch to a failover target when the current one fails. Default: true when `failoverURLs` is not empty.
    public var failoverEnabled: Bool = false
    /// Other servers, tried in order after `databaseURL`.
    public var failoverURLs: [DatabaseURL] = []
    /// Attempts on the current server before switching. Default 3.
    public var failoverRetryAttempts: Int = 3
    /// Pause between those attempts. Default 1 s.
    public var failoverRetryDelay: Duration = .seconds(1)
    /// Accept a read-only (standby) server as a failover target when no primary answers. Default false.
    public var failoverAllowReadOnly: Bool = false
    /// Return to `databaseURL` once it is healthy and a primary again. Default false.
    public var failbackEnabled: Bool = false
    /// The control endpoint for `pooltop attach` (docs/CONTROL-PROTOCOL.md): `.off` (default), `.auto` (the
    /// per-user control directory) or `.path`. Started by the manager; a failure to start is a typed error.
    public var controlSocket: ControlSocketSetting = .off
    /// The service's name in `pooltop ls`, the dashboard header and the socket's file name: 1–63 bytes of
    /// `[A-Za-z0-9._-]`. Default: the process name, sanitized.
    public var poolName: String = PoolName.processDefault
    /// A group whose members may read the control endpoint (socket mode 0660 instead of 0600). Default none.
    public var controlGroup: ControlGroupSetting? = nil
    /// Let the control group's members send commands too. Default false.
    public var controlGroupCanAct: Bool = false
    /// Deadline for opening a connection, enforced to the millisecond (libpq's own has a 2 s floor). Default 5 s.
    public var connectTimeout: Duration = .seconds(5)
    /// Deadline for each statement; `nil` waits as long as the server takes. Default nil.
    public var queryTimeout: Duration? = nil
    /// What a checkin does to the session state a borrower left behind (see ``SessionResetPolicy``). Default `.auto`.
    public var sessionReset: SessionResetPolicy = .auto
    /// `application_name` reported to the server (visible in `pg_stat_activity`); `nil` (the default) reports
    /// ``poolName``, so every embedding service shows up under its own name, not this library's.
    public var applicationName: String? = nil

    /// The `application_name` connections report: ``applicationName``, else ``poolName`` (at most 63 bytes).
    public var effectiveApplicationName: String { applicationName ?? poolName }

    /// A configuration with the defaults for `databaseURL`.
    public init(databaseURL: DatabaseURL) {
        self.databaseURL = databaseURL
    }

    /// Checks every value; throws the first problem found, naming the setting and the value.
    public func validate() throws(ConfigurationError) {
        func positive(_ d: Duration, _ name: String) throws(ConfigurationError) {
            if d <= .zero {
                throw .invalidValue(setting: name, value: Self.format(d), expected: "a duration greater than 0")
            }
        }
        try validateControl()
        if poolSize < 1 {
            throw .invalidValue(setting: "pool_size", value: "\(poolSize)", expected: "a whole number of at least 1")
        }
        if maxOverflow < 0 {
            throw .invalidValue(
                setting: "max_overflow", value: "\(maxOverflow)", expected: "a whole number of at least 0")
        }
        if overflowIdleTimeout < .zero {
            throw .invalidValue(
                setting: "overflow_idle_timeout", value: Self.format(overflowIdleTimeout),
                expected: "a duration of at least 0")
        }
        if let keepalive { try positive(keepalive, "keepalive") }
        if minIdle < 0 || minIdle > poolSize {
            throw .invalidValue(
                setting: "min_idle", value: "\(minIdle)", expected: "a whole number from 0 to pool_size (\(poolSize))")
        }
        try positive(poolTimeout, "pool_timeout")
        if let poolRecycle { try positive(poolRecycle, "pool_recycle") }
        if prePingAfterIdle < .zero {
            throw .invalidValue(
                setting: "pre_ping_after_idle", value: Self.format(prePingAfterIdle),
                expected: "a duration of at least 0")
        }
        try positive(leakThreshold, "leak_threshold")
        try positive(healthCheckInterval, "health_check_interval")
        if failoverRetryAttempts < 0 {
            throw .invalidValue(
                setting: "failover_retry_attempts", value: "\(failoverRetryAttempts)",
                expected: "a whole number of at least 0")
        }
        if failoverRetryDelay < .zero {
            throw .invalidValue(
                setting: "failover_retry_delay", value: Self.format(failoverRetryDelay),
                expected: "a duration of at least 0")
        }
        try positive(connectTimeout, "connect_timeout")
        if let queryTimeout { try positive(queryTimeout, "query_timeout") }
        if case .sampled(let n) = stackCapture, n < 1 {
            throw .invalidValue(
                setting: "stack_capture", value: "sample:\(n)", expected: "off, always or sample:N with N ≥ 1")
        }
        try checkUpperBounds()
        var seen: [String: DatabaseURL] = [:]
        for url in [databaseURL] + failoverURLs {
            if seen[url.serverIdentity] != nil { throw .duplicateTarget(url: url.masked) }
            seen[url.serverIdentity] = url
        }
    }

    /// All targets in failover order: `databaseURL` first.
    public var targets: [DatabaseURL] { [databaseURL] + failoverURLs }

    static func format(_ d: Duration) -> String {
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return "\(s)s"
    }
}
