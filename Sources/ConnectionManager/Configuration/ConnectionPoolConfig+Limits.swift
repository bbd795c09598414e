extension ConnectionPoolConfig {
    /// The upper bounds of ``SettingLimits`` for a configuration built in code (text settings are bounded when
    /// parsed, naming the value as typed). Lower bounds are checked by ``validate()`` itself.
    func checkUpperBounds() throws(ConfigurationError) {
        func count(_ value: Int, _ name: String, _ range: ClosedRange<Int>) throws(ConfigurationError) {
            if value > range.upperBound {
                throw .invalidValue(
                    setting: name, value: "\(value)",
                    expected: "a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
        }
        func duration(_ value: Duration?, _ name: String, _ range: ClosedRange<Duration>) throws(ConfigurationError) {
            guard let value, value > range.upperBound else { return }
            throw .invalidValue(
                setting: name, value: Self.format(value),
                expected: "a duration of at most \(ConfigurationValue.describe(range.upperBound))")
        }
        try count(poolSize, "pool_size", SettingLimits.poolSize)
        try count(maxOverflow, "max_overflow", SettingLimits.maxOverflow)
        try count(failoverRetryAttempts, "failover_retry_attempts", SettingLimits.failoverRetryAttempts)
        try duration(poolTimeout, "pool_timeout", SettingLimits.poolTimeout)
        try duration(poolRecycle, "pool_recycle", SettingLimits.poolRecycle)
        try duration(prePingAfterIdle, "pre_ping_after_idle", SettingLimits.prePingAfterIdle)
        try duration(leakThreshold, "leak_threshold", SettingLimits.leakThreshold)
        try duration(healthCheckInterval, "health_check_interval", SettingLimits.healthCheckInterval)
        try duration(blockedThreshold, "blocked_threshold", SettingLimits.blockedThreshold)
        try duration(failoverRetryDelay, "failover_retry_delay", SettingLimits.failoverRetryDelay)
        try duration(connectTimeout, "connect_timeout", SettingLimits.connectTimeout)
        try duration(queryTimeout, "query_timeout", SettingLimits.queryTimeout)
    }
}
