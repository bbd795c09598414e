import Foundation
import Testing

@testable import ConnectionManager

/// Every setting refuses garbage, huge, tiny, NaN, negative and unicode values with a typed error that names the
/// variable and the value as typed (issue 10.1): no trap on `Int64(value × 1e9)` or `poolSize + maxOverflow`,
/// no `'0.0s'` for a value that rounds to nothing.
@Suite("setting bounds")
struct SettingBoundsTests {
    static let url = "postgresql://u@db/app"

    static let integers = ["DB_POOL_SIZE", "DB_MAX_OVERFLOW", "DB_FAILOVER_RETRY_ATTEMPTS", "DB_POOL_MIN_IDLE"]
    static let durations = [
        "DB_POOL_TIMEOUT", "DB_POOL_RECYCLE", "DB_PRE_PING_AFTER_IDLE", "DB_LEAK_THRESHOLD", "DB_HEALTH_CHECK_INTERVAL",
        "DB_FAILOVER_RETRY_DELAY", "DB_CONNECT_TIMEOUT", "DB_QUERY_TIMEOUT", "DB_POOL_KEEPALIVE",
        "DB_OVERFLOW_IDLE_TIMEOUT",
    ]
    static let booleans = [
        "DB_POOL_PRE_PING", "DB_POOL_PREFILL", "DB_LEAK_DETECTION", "DB_HEALTH_CHECK", "DB_FAILOVER_ENABLED",
        "DB_FAILOVER_ALLOW_READ_ONLY", "DB_FAILBACK", "DB_CONTROL_GROUP_CAN_ACT",
    ]

    static let badIntegers = [
        "abc", "1e10", "9223372036854775807", "-9223372036854775808", "99999999999999999999", "-5", "10001", "nan",
        "５", "1.5", "", "🙂", "0x10",
    ]
    static let badDurations = [
        "abc", "1e10", "1e10s", "1e30", "9.3e9", "9223372036854775807", "1e-12", "1e-12s", "0.0000001ms", "nan",
        "inf", "-inf", "-5", "-1e10", "５", "３０s", "∞", "1e400", "5 parsecs", "400d", "1y",
    ]
    static let badBooleans = ["abc", "2", "yes please", "ja", "✓", "", "nan"]

    struct Case: Sendable, CustomTestStringConvertible {
        let variable: String
        let value: String
        var testDescription: String { "\(variable)=\(value)" }
    }

    static let cases: [Case] =
        integers.flatMap { v in badIntegers.map { Case(variable: v, value: $0) } }
        + durations.flatMap { v in badDurations.map { Case(variable: v, value: $0) } }
        + booleans.flatMap { v in badBooleans.map { Case(variable: v, value: $0) } }
        + ["sample:0", "sample:-1", "sample:99999999999999999999", "sample:nan", "sometimes", "sample:１"].map {
            Case(variable: "DB_STACK_CAPTURE", value: $0)
        }
        + ["mysql://x", "host=a port=notaport", "postgresql://h:99999/d"].map {
            Case(variable: "DATABASE_FAILOVER_URLS", value: $0)
        }
        + ["relative/socket", "on", "🙂"].map { Case(variable: "DB_CONTROL_SOCKET", value: $0) }
        + ["has space", "semi;colon", "🙂", "../up"].map {
            Case(variable: "DB_POOL_NAME", value: $0)
        }
        + ["-1", "99999999999999999999", "bad group!"].map { Case(variable: "DB_CONTROL_GROUP", value: $0) }
        + ["sometimes", "", "🙂", "discard"].map { Case(variable: "DB_SESSION_RESET", value: $0) }
        + ["11"].map { Case(variable: "DB_POOL_MIN_IDLE", value: $0) }  // Above the default pool size (10).

    @Test("a bad value is a typed error naming the variable and the value as typed", arguments: cases)
    func refused(_ bad: Case) {
        #expect {
            _ = try ConnectionPoolConfig.fromEnvironment(["DATABASE_URL": Self.url, bad.variable: bad.value])
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            let text = "\(error)"
            return text.contains(bad.variable) && text.contains("'\(bad.value)'") && !text.contains("'0.0s'")
        }
    }

    @Test("a pool name longer than 63 bytes is refused (the value is cut in the message)")
    func longPoolName() {
        #expect(throws: ConfigurationError.self) {
            _ = try ConnectionPoolConfig.fromEnvironment([
                "DATABASE_URL": Self.url, "DB_POOL_NAME": String(repeating: "n", count: 64),
            ])
        }
    }

    @Test("every variable of the table is covered by this test")
    func everyVariableCovered() {
        let covered = Set(
            Self.integers + Self.durations + Self.booleans + [
                "DB_STACK_CAPTURE", "DATABASE_FAILOVER_URLS", "DB_CONTROL_SOCKET", "DB_POOL_NAME", "DB_CONTROL_GROUP",
                "DB_SESSION_RESET",
            ])
        // Free text: any application_name is accepted (the server truncates it to 63 bytes).
        let free: Set<String> = ["DB_APPLICATION_NAME"]
        let all = Set(ConnectionPoolConfig.environmentSettings.map(\.variable))
        #expect(
            all.subtracting(free).subtracting(covered).isEmpty,
            "not covered: \(all.subtracting(free).subtracting(covered))")
    }

    @Test("the documented bounds themselves are accepted")
    func boundsAccepted() throws {
        let config = try ConnectionPoolConfig.fromEnvironment([
            "DATABASE_URL": Self.url, "DB_POOL_SIZE": "10000", "DB_MAX_OVERFLOW": "10000",
            "DB_FAILOVER_RETRY_ATTEMPTS": "1000", "DB_POOL_TIMEOUT": "24h", "DB_POOL_RECYCLE": "8760h",
            "DB_LEAK_THRESHOLD": "8760h", "DB_HEALTH_CHECK_INTERVAL": "24h", "DB_CONNECT_TIMEOUT": "1h",
            "DB_QUERY_TIMEOUT": "24h", "DB_FAILOVER_RETRY_DELAY": "1h", "DB_PRE_PING_AFTER_IDLE": "1ms",
        ])
        #expect(config.poolSize == 10_000)
        #expect(config.poolRecycle == .seconds(8760 * 3600))
        #expect(config.prePingAfterIdle == .milliseconds(1))
    }

    @Test("a value that rounds to nothing is named as typed, with the smallest accepted value")
    func tinyValue() {
        #expect(
            throws: ConfigurationError.invalidValue(
                setting: "DB_CONNECT_TIMEOUT", value: "1e-12s",
                expected: "a duration from 1 ms to 1 h: seconds like 30 or 0.5, or with a unit like 250ms, 2s, 5m")
        ) {
            _ = try ConnectionPoolConfig.fromEnvironment(["DATABASE_URL": Self.url, "DB_CONNECT_TIMEOUT": "1e-12s"])
        }
    }

    @Test("a 130 KB value is cut in the message")
    func longValueCut() {
        let value = String(repeating: "9", count: 130_000)
        #expect {
            _ = try ConnectionPoolConfig.fromEnvironment(["DATABASE_URL": Self.url, "DB_POOL_SIZE": value])
        } throws: { error in
            let text = "\(error)"
            return text.count < 300 && text.contains("DB_POOL_SIZE") && text.contains(String(repeating: "9", count: 60))
        }
    }

    @Test("validate() bounds a configuration built in code: no trap on huge sizes or durations")
    func validateBoundsCodeConfiguration() throws {
        let url = try DatabaseURL(Self.url)
        let mutations: [(String, @Sendable (inout ConnectionPoolConfig) -> Void)] = [
            ("pool_size", { $0.poolSize = .max }), ("max_overflow", { $0.maxOverflow = .max }),
            ("pool_timeout", { $0.poolTimeout = .seconds(Int64.max) }),
            ("connect_timeout", { $0.connectTimeout = .seconds(1e10) }),
            ("query_timeout", { $0.queryTimeout = .seconds(1e10) }),
            ("pool_recycle", { $0.poolRecycle = .seconds(1e10) }),
            ("leak_threshold", { $0.leakThreshold = .seconds(1e10) }),
            ("health_check_interval", { $0.healthCheckInterval = .seconds(1e10) }),
            ("pre_ping_after_idle", { $0.prePingAfterIdle = .seconds(1e10) }),
            ("failover_retry_delay", { $0.failoverRetryDelay = .seconds(1e10) }),
            ("failover_retry_attempts", { $0.failoverRetryAttempts = .max }),
        ]
        for (setting, mutate) in mutations {
            var config = ConnectionPoolConfig(databaseURL: url)
            mutate(&config)
            #expect("\(setting)") {
                try config.validate()
            } throws: { error in
                "\(error)".contains(setting)
            }
        }
    }

    @Test("the dashboard's and the demo's own values: refresh, load, leak interval")
    func dashboardValues() {
        for text in ["1e-9", "10ms", "2h", "nan", "1e10", "-1s", "abc"] {
            #expect(throws: ConfigurationError.self, "\(text)") {
                _ = try ConfigurationValue.duration(text, setting: "--refresh", within: SettingLimits.refresh)
            }
        }
        #expect(throws: Never.self) {
            _ = try ConfigurationValue.duration("50ms", setting: "--refresh", within: SettingLimits.refresh)
            _ = try ConfigurationValue.duration("1h", setting: "--refresh", within: SettingLimits.refresh)
        }
        for text in ["257", "100000", "-1", "9223372036854775807", "x"] {
            #expect(throws: ConfigurationError.self, "\(text)") {
                _ = try ConfigurationValue.int(text, setting: "--load", within: SettingLimits.load)
            }
        }
        for text in ["1e10", "0", "10ms", "2h"] {
            #expect(throws: ConfigurationError.self, "\(text)") {
                _ = try ConfigurationValue.duration(text, setting: "--leak-every", within: SettingLimits.leakEvery)
            }
        }
    }
}
