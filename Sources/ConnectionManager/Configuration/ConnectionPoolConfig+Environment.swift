/// One environment variable understood by ``ConnectionPoolConfig/fromEnvironment(_:)``.
public struct EnvironmentSetting: Sendable {
    public let variable: String
    public let defaultValue: String
    public let summary: String
    /// Only ever throws `ConfigurationError` (closures can't spell typed throws in this table's literals).
    let apply: @Sendable (inout ConnectionPoolConfig, String) throws -> Void
}

extension ConnectionPoolConfig {
    /// Every variable, in the order the README lists them. `DATABASE_URL` is required and not in this list.
    public static let environmentSettings: [EnvironmentSetting] = [
        .init(
            variable: "DATABASE_FAILOVER_URLS", defaultValue: "(none)",
            summary: "Comma-separated failover targets, tried in order; setting it turns failover on."
        ) { c, v in
            c.failoverURLs = try failoverTargets(in: v).map { s in
                try DatabaseURL(s, setting: "DATABASE_FAILOVER_URLS")
            }
            c.failoverEnabled = !c.failoverURLs.isEmpty
        },
        .init(variable: "DB_POOL_SIZE", defaultValue: "10", summary: "Persistent connections.") { c, v in
            c.poolSize = try ConfigurationValue.int(v, setting: "DB_POOL_SIZE", within: SettingLimits.poolSize)
        },
        .init(
            variable: "DB_MAX_OVERFLOW", defaultValue: "20",
            summary: "Temporary connections above the pool size, closed when given back."
        ) { c, v in
            c.maxOverflow = try ConfigurationValue.int(v, setting: "DB_MAX_OVERFLOW", within: SettingLimits.maxOverflow)
        },
        .init(
            variable: "DB_OVERFLOW_IDLE_TIMEOUT", defaultValue: "10s",
            summary: "Close an overflow connection after this long idle (0 = when given back)."
        ) { c, v in
            c.overflowIdleTimeout = try ConfigurationValue.duration(
                v, setting: "DB_OVERFLOW_IDLE_TIMEOUT", allowZero: true)
        },
        .init(
            variable: "DB_POOL_KEEPALIVE", defaultValue: "120s",
            summary: "Ping connections idle longer than this, in the background (`off` disables)."
        ) { c, v in
            c.keepalive = try ConfigurationValue.optionalDuration(v, setting: "DB_POOL_KEEPALIVE")
        },
        .init(
            variable: "DB_POOL_MIN_IDLE", defaultValue: "0",
            summary: "Idle connections kept open, refilled in the background (at most the pool size)."
        ) { c, v in
            c.minIdle = try ConfigurationValue.int(
                v, setting: "DB_POOL_MIN_IDLE", within: 0...SettingLimits.poolSize.upperBound)
        },
        .init(
            variable: "DB_POOL_TIMEOUT", defaultValue: "30s",
            summary: "Longest wait for a free connection before a pool-timeout error."
        ) { c, v in
            c.poolTimeout = try ConfigurationValue.duration(
                v, setting: "DB_POOL_TIMEOUT", within: SettingLimits.poolTimeout)
        },
        .init(
            variable: "DB_POOL_RECYCLE", defaultValue: "3600s",
            summary: "Replace connections older than this at checkout (`off` disables)."
        ) { c, v in
            c.poolRecycle = try ConfigurationValue.optionalDuration(
                v, setting: "DB_POOL_RECYCLE", within: SettingLimits.poolRecycle)
        },
        .init(
            variable: "DB_POOL_PRE_PING", defaultValue: "true",
            summary: "Check a connection is alive at checkout; replace dead ones transparently."
        ) { c, v in
            c.poolPrePing = try ConfigurationValue.bool(v, setting: "DB_POOL_PRE_PING")
        },
        .init(
            variable: "DB_PRE_PING_AFTER_IDLE", defaultValue: "500ms",
            summary: "Pre-ping only connections idle longer than this (0 = every checkout)."
        ) { c, v in
            c.prePingAfterIdle = try ConfigurationValue.duration(
                v, setting: "DB_PRE_PING_AFTER_IDLE", within: SettingLimits.prePingAfterIdle, allowZero: true)
        },
        .init(
            variable: "DB_POOL_PREFILL", defaultValue: "false",
            summary: "Open the pool's connections at start instead of on demand."
        ) { c, v in
            c.prefill = try ConfigurationValue.bool(v, setting: "DB_POOL_PREFILL")
        },
        .init(
            variable: "DB_LEAK_DETECTION", defaultValue: "true",
            summary: "Report connections held longer than the leak threshold."
        ) { c, v in
            c.leakDetectionEnabled = try ConfigurationValue.bool(v, setting: "DB_LEAK_DETECTION")
        },
        .init(
            variable: "DB_LEAK_THRESHOLD", defaultValue: "300s",
            summary: "How long a checkout may be held before it counts as a leak."
        ) { c, v in
            c.leakThreshold = try ConfigurationValue.duration(
                v, setting: "DB_LEAK_THRESHOLD", within: SettingLimits.leakThreshold)
        },
        .init(
            variable: "DB_STACK_CAPTURE", defaultValue: "always",
            summary: "Checkout stacks for leak reports: `off`, `always` or `sample:N`."
        ) { c, v in
            c.stackCapture = try ConfigurationValue.stackCapture(v, setting: "DB_STACK_CAPTURE")
        },
        .init(
            variable: "DB_HEALTH_CHECK", defaultValue: "true",
            summary: "Periodic health checks on a connection of their own."
        ) { c, v in
            c.healthCheckEnabled = try ConfigurationValue.bool(v, setting: "DB_HEALTH_CHECK")
        },
        .init(variable: "DB_HEALTH_CHECK_INTERVAL", defaultValue: "60s", summary: "Time between health checks.") {
            c, v in
            c.healthCheckInterval = try ConfigurationValue.duration(
                v, setting: "DB_HEALTH_CHECK_INTERVAL", within: SettingLimits.healthCheckInterval)
        },
        .init(
            variable: "DB_FAILOVER_ENABLED", defaultValue: "true with failover URLs",
            summary: "Switch to a failover target when the current one fails."
        ) { c, v in
            c.failoverEnabled = try ConfigurationValue.bool(v, setting: "DB_FAILOVER_ENABLED")
        },
        .init(
            variable: "DB_FAILOVER_RETRY_ATTEMPTS", defaultValue: "3",
            summary: "Attempts on the current server before switching."
        ) { c, v in
            c.failoverRetryAttempts = try ConfigurationValue.int(
                v, setting: "DB_FAILOVER_RETRY_ATTEMPTS", within: SettingLimits.failoverRetryAttempts)
        },
        .init(variable: "DB_FAILOVER_RETRY_DELAY", defaultValue: "1s", summary: "Pause between those attempts.") {
            c, v in
            c.failoverRetryDelay = try ConfigurationValue.duration(
                v, setting: "DB_FAILOVER_RETRY_DELAY", within: SettingLimits.failoverRetryDelay, allowZero: true)
        },
        .init(
            variable: "DB_FAILOVER_ALLOW_READ_ONLY", defaultValue: "false",
            summary: "Accept a standby as failover target when no primary answers."
        ) { c, v in
            c.failoverAllowReadOnly = try ConfigurationValue.bool(v, setting: "DB_FAILOVER_ALLOW_READ_ONLY")
        },
        .init(
            variable: "DB_FAILBACK", defaultValue: "false",
            summary: "Return to DATABASE_URL once it is a healthy primary again."
        ) { c, v in
            c.failbackEnabled = try ConfigurationValue.bool(v, setting: "DB_FAILBACK")
        },
        .init(
            variable: "DB_CONTROL_SOCKET", defaultValue: "off",
            summary: "The control endpoint for `pooltop attach`: `off`, `auto` or a socket path."
        ) { c, v in
            c.controlSocket = try ConfigurationValue.controlSocket(v, setting: "DB_CONTROL_SOCKET")
        },
        .init(
            variable: "DB_POOL_NAME", defaultValue: "the process name",
            summary: "The service's name in `pooltop ls` and the socket's file name."
        ) { c, v in
            c.poolName = try ConfigurationValue.poolName(v, setting: "DB_POOL_NAME")
        },
        .init(
            variable: "DB_CONTROL_GROUP", defaultValue: "(none)",
            summary: "A group (name or gid) whose members may read the control endpoint (socket mode 0660)."
        ) { c, v in
            c.controlGroup = try ConfigurationValue.controlGroup(v, setting: "DB_CONTROL_GROUP")
        },
        .init(
            variable: "DB_CONTROL_GROUP_CAN_ACT", defaultValue: "false",
            summary: "Let the control group's members send commands too."
        ) { c, v in
            c.controlGroupCanAct = try ConfigurationValue.bool(v, setting: "DB_CONTROL_GROUP_CAN_ACT")
        },
        .init(
            variable: "DB_CONNECT_TIMEOUT", defaultValue: "5s",
            summary: "Deadline for opening a connection, to the millisecond."
        ) { c, v in
            c.connectTimeout = try ConfigurationValue.duration(
                v, setting: "DB_CONNECT_TIMEOUT", within: SettingLimits.connectTimeout)
        },
        .init(
            variable: "DB_QUERY_TIMEOUT", defaultValue: "off",
            summary: "Deadline for each statement, to the millisecond (`off` = none)."
        ) { c, v in
            c.queryTimeout = try ConfigurationValue.optionalDuration(
                v, setting: "DB_QUERY_TIMEOUT", within: SettingLimits.queryTimeout)
        },
        .init(
            variable: "DB_SESSION_RESET", defaultValue: "auto",
            summary: "Session state reset on checkin: `auto` (DISCARD ALL when it may have changed), `always`, `off`."
        ) { c, v in
            c.sessionReset = try ConfigurationValue.sessionReset(v, setting: "DB_SESSION_RESET")
        },
        .init(
            variable: "DB_APPLICATION_NAME", defaultValue: "the pool name",
            summary: "application_name shown in pg_stat_activity (default: DB_POOL_NAME, i.e. the process name)."
        ) { c, v in
            c.applicationName = v
        },
    ]

    /// Reads `DATABASE_URL` and the `DB_*` variables (see ``environmentSettings``); unset ones keep
    /// their defaults. Throws a typed error naming the variable and its value (passwords masked).
    public static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError)
        -> ConnectionPoolConfig
    {
        guard let raw = environment["DATABASE_URL"], !raw.trimmingSpaces.isEmpty else {
            throw .missingURL(setting: "DATABASE_URL")
        }
        var config = ConnectionPoolConfig(databaseURL: try DatabaseURL(raw.trimmingSpaces, setting: "DATABASE_URL"))
        try config.apply(environment: environment)
        return config
    }

    /// Applies the `DB_*` and `DATABASE_FAILOVER_URLS` variables present in `environment` on top of `self`.
    public mutating func apply(environment: [String: String]) throws(ConfigurationError) {
        for setting in Self.environmentSettings {
            guard let value = environment[setting.variable] else { continue }
            do {
                try setting.apply(&self, value)
            } catch let error as ConfigurationError {
                throw error
            } catch {
                throw .invalidValue(setting: setting.variable, value: value, expected: "\(error)")
            }
        }
        // A bound that depends on another setting, named as the person typed it.
        if let typed = environment["DB_POOL_MIN_IDLE"], minIdle > poolSize {
            throw .invalidValue(
                setting: "DB_POOL_MIN_IDLE", value: typed,
                expected: "a whole number from 0 to the pool size (DB_POOL_SIZE, \(poolSize))")
        }
        try validate()
    }
}
