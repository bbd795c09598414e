/// The range every setting accepts, in one place: the parsers (``ConfigurationValue``, the environment table,
/// pooltop's flags) and ``ConnectionPoolConfig/validate()`` use these, and the README lists them.
///
/// Upper bounds keep values far from what the code's arithmetic can hold (nanoseconds in `Int64`, sizes added up)
/// and from what a machine can do (every pool slot is allocated up front); lower bounds of durations are 1 ms, the
/// resolution of every deadline, so that a positive value never rounds to nothing.
public enum SettingLimits {
    private static let millisecond: Duration = .milliseconds(1)
    private static let hour: Duration = .seconds(3600)
    private static let day: Duration = .seconds(86_400)
    private static let year: Duration = .seconds(365 * 86_400)

    public static let poolSize: ClosedRange<Int> = 1...10_000
    public static let maxOverflow: ClosedRange<Int> = 0...10_000
    public static let failoverRetryAttempts: ClosedRange<Int> = 0...1_000
    public static let poolTimeout: ClosedRange<Duration> = millisecond...day
    public static let poolRecycle: ClosedRange<Duration> = millisecond...year
    /// 0 is accepted too (ping at every checkout).
    public static let prePingAfterIdle: ClosedRange<Duration> = millisecond...day
    public static let leakThreshold: ClosedRange<Duration> = millisecond...year
    public static let healthCheckInterval: ClosedRange<Duration> = millisecond...day
    public static let blockedThreshold: ClosedRange<Duration> = millisecond...day
    /// 0 is accepted too (retry at once).
    public static let failoverRetryDelay: ClosedRange<Duration> = millisecond...hour
    public static let connectTimeout: ClosedRange<Duration> = millisecond...hour
    public static let queryTimeout: ClosedRange<Duration> = millisecond...day
    /// pooltop's `--refresh` / `POOLTOP_REFRESH`: faster than 50 ms only burns a core.
    public static let refresh: ClosedRange<Duration> = .milliseconds(50)...hour
    /// pooltop's `--load` / `POOLTOP_LOAD`: one thread per client.
    public static let load: ClosedRange<Int> = 0...256
    /// `pooltop demo --leak-every`.
    public static let leakEvery: ClosedRange<Duration> = .milliseconds(100)...hour
    /// Any other duration setting.
    public static let anyDuration: ClosedRange<Duration> = millisecond...year
}
