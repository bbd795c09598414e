import Foundation
import LocalCluster
import Testing

@testable import ConnectionManager

/// `ConnectionPoolConfig`: the seed's defaults, `fromEnvironment`, and typed errors for bad input.
@Suite("ConnectionPoolConfig")
struct ConnectionPoolConfigTests {
    static let url = "postgresql://app:s3cr3t-pw@db.example:5433/app"

    @Test func defaultsAreTheSeeds() throws {
        let config = ConnectionPoolConfig(databaseURL: try DatabaseURL(Self.url))
        #expect(config.poolSize == 10)
        #expect(config.maxOverflow == 20)
        #expect(config.poolTimeout == .seconds(30))
        #expect(config.poolRecycle == .seconds(3600))
        #expect(config.poolPrePing == true)
        #expect(config.leakDetectionEnabled == true)
        #expect(config.leakThreshold == .seconds(300))
        #expect(config.healthCheckEnabled == true)
        #expect(config.healthCheckInterval == .seconds(60))
        #expect(config.failoverRetryAttempts == 3)
        #expect(config.failoverRetryDelay == .seconds(1))
        #expect(config.connectTimeout == .seconds(5))
        #expect(config.queryTimeout == nil)
        // The service's own name, not this library's: every embedding service used to show up as `pooltop`.
        #expect(config.applicationName == nil)
        #expect(config.effectiveApplicationName == config.poolName)
        #expect(config.effectiveApplicationName == PoolName.processDefault)
        #expect(config.prefill == false)
        #expect(config.failoverURLs.isEmpty)
        #expect(config.failoverEnabled == false)
        #expect(throws: Never.self) { try config.validate() }
    }

    @Test func environmentWithOnlyTheURLKeepsTheDefaults() throws {
        let config = try ConnectionPoolConfig.fromEnvironment(["DATABASE_URL": Self.url])
        #expect(config == ConnectionPoolConfig(databaseURL: try DatabaseURL(Self.url)))
    }

    @Test func environmentReadsURLFailoverURLsPoolSizeAndOverflow() throws {
        let config = try ConnectionPoolConfig.fromEnvironment([
            "DATABASE_URL": Self.url,
            "DATABASE_FAILOVER_URLS": "postgresql://app@db2.example/app, postgres://app@db3.example:6000/app",
            "DB_POOL_SIZE": "7",
            "DB_MAX_OVERFLOW": "3",
        ])
        #expect(config.databaseURL.host == "db.example")
        #expect(config.databaseURL.port == 5433)
        #expect(config.failoverURLs.map(\.host) == ["db2.example", "db3.example"])
        #expect(config.failoverURLs.map(\.port) == [nil, 6000])
        #expect(config.failoverEnabled)
        #expect(config.targets.count == 3)
        #expect(config.poolSize == 7)
        #expect(config.maxOverflow == 3)
    }

    /// One `DB_*` variable, a value for it, and what it must change.
    struct VariableCase: Sendable, CustomTestStringConvertible {
        let variable: String
        let value: String
        let check: @Sendable (ConnectionPoolConfig) -> Bool
        var testDescription: String { "\(variable)=\(value)" }
    }

    static let variableCases: [VariableCase] = [
        .init(variable: "DATABASE_FAILOVER_URLS", value: "postgresql://u@other/app") {
            $0.failoverURLs.map(\.host) == ["other"] && $0.failoverEnabled
        },
        .init(variable: "DB_POOL_SIZE", value: "3") { $0.poolSize == 3 },
        .init(variable: "DB_MAX_OVERFLOW", value: "0") { $0.maxOverflow == 0 },
        .init(variable: "DB_OVERFLOW_IDLE_TIMEOUT", value: "0") { $0.overflowIdleTimeout == .zero },
        .init(variable: "DB_POOL_KEEPALIVE", value: "off") { $0.keepalive == nil },
        .init(variable: "DB_POOL_MIN_IDLE", value: "2") { $0.minIdle == 2 },
        .init(variable: "DB_POOL_TIMEOUT", value: "250ms") { $0.poolTimeout == .milliseconds(250) },
        .init(variable: "DB_POOL_RECYCLE", value: "off") { $0.poolRecycle == nil },
        .init(variable: "DB_POOL_PRE_PING", value: "false") { $0.poolPrePing == false },
        .init(variable: "DB_PRE_PING_AFTER_IDLE", value: "0") { $0.prePingAfterIdle == .zero },
        .init(variable: "DB_POOL_PREFILL", value: "yes") { $0.prefill == true },
        .init(variable: "DB_LEAK_DETECTION", value: "off") { $0.leakDetectionEnabled == false },
        .init(variable: "DB_LEAK_THRESHOLD", value: "2m") { $0.leakThreshold == .seconds(120) },
        .init(variable: "DB_BLOCKED_THRESHOLD", value: "750ms") { $0.blockedThreshold == .milliseconds(750) },
        .init(variable: "DB_STACK_CAPTURE", value: "sample:10") { $0.stackCapture == .sampled(every: 10) },
        .init(variable: "DB_HEALTH_CHECK", value: "0") { $0.healthCheckEnabled == false },
        .init(variable: "DB_HEALTH_CHECK_INTERVAL", value: "2.5") { $0.healthCheckInterval == .milliseconds(2500) },
        .init(variable: "DB_FAILOVER_ENABLED", value: "true") { $0.failoverEnabled == true },
        .init(variable: "DB_FAILOVER_RETRY_ATTEMPTS", value: "5") { $0.failoverRetryAttempts == 5 },
        .init(variable: "DB_FAILOVER_RETRY_DELAY", value: "0") { $0.failoverRetryDelay == .zero },
        .init(variable: "DB_FAILOVER_ALLOW_READ_ONLY", value: "on") { $0.failoverAllowReadOnly == true },
        .init(variable: "DB_FAILBACK", value: "TRUE") { $0.failbackEnabled == true },
        .init(variable: "DB_CONTROL_SOCKET", value: "auto") { $0.controlSocket == .auto },
        .init(variable: "DB_POOL_NAME", value: "orders-api") { $0.poolName == "orders-api" },
        .init(variable: "DB_CONTROL_GROUP", value: "oncall") { $0.controlGroup == .name("oncall") },
        .init(variable: "DB_CONTROL_GROUP_CAN_ACT", value: "true") { $0.controlGroupCanAct == true },
        .init(variable: "DB_CONNECT_TIMEOUT", value: "300ms") { $0.connectTimeout == .milliseconds(300) },
        .init(variable: "DB_QUERY_TIMEOUT", value: "2s") { $0.queryTimeout == .seconds(2) },
        .init(variable: "DB_SESSION_RESET", value: " Always ") { $0.sessionReset == .always },
        .init(variable: "DB_APPLICATION_NAME", value: "billing-worker") { $0.applicationName == "billing-worker" },
    ]

    @Test(arguments: variableCases)
    func environmentVariableIsApplied(_ testCase: VariableCase) throws {
        let config = try ConnectionPoolConfig.fromEnvironment(
            ["DATABASE_URL": Self.url, testCase.variable: testCase.value])
        #expect(testCase.check(config), "\(testCase.variable)=\(testCase.value) was not applied")
        // The check would fail on the defaults, so it really sees the variable.
        #expect(!testCase.check(ConnectionPoolConfig(databaseURL: try DatabaseURL(Self.url))))
    }

    @Test func everyDocumentedVariableIsCoveredByTheTable() {
        let documented = Set(ConnectionPoolConfig.environmentSettings.map(\.variable))
        let tested = Set(Self.variableCases.map(\.variable))
        #expect(documented == tested)
    }

    /// Bad input and the error it must produce: the setting named, the value shown, the password never.
    struct BadInput: Sendable, CustomTestStringConvertible {
        let name: String
        let environment: [String: String]
        let setting: String
        let value: String
        var testDescription: String { name }
    }

    static let badInputs: [BadInput] = [
        .init(
            name: "unknown session reset", environment: ["DB_SESSION_RESET": "sometimes"],
            setting: "DB_SESSION_RESET", value: "sometimes"),
        .init(name: "zero pool size", environment: ["DB_POOL_SIZE": "0"], setting: "DB_POOL_SIZE", value: "0"),
        .init(name: "negative pool size", environment: ["DB_POOL_SIZE": "-3"], setting: "DB_POOL_SIZE", value: "-3"),
        .init(
            name: "non-numeric pool size", environment: ["DB_POOL_SIZE": "ten"], setting: "DB_POOL_SIZE",
            value: "ten"),
        .init(
            name: "fractional pool size", environment: ["DB_POOL_SIZE": "2.5"], setting: "DB_POOL_SIZE",
            value: "2.5"),
        .init(
            name: "negative overflow", environment: ["DB_MAX_OVERFLOW": "-1"], setting: "DB_MAX_OVERFLOW",
            value: "-1"),
        .init(
            name: "zero pool timeout", environment: ["DB_POOL_TIMEOUT": "0"], setting: "DB_POOL_TIMEOUT",
            value: "0"),
        .init(
            name: "negative pool timeout", environment: ["DB_POOL_TIMEOUT": "-5s"], setting: "DB_POOL_TIMEOUT",
            value: "-5s"),
        .init(
            name: "zero connect timeout", environment: ["DB_CONNECT_TIMEOUT": "0ms"], setting: "DB_CONNECT_TIMEOUT",
            value: "0ms"),
        .init(
            name: "zero query timeout", environment: ["DB_QUERY_TIMEOUT": "0"], setting: "DB_QUERY_TIMEOUT",
            value: "0"),
        .init(name: "zero recycle", environment: ["DB_POOL_RECYCLE": "0"], setting: "DB_POOL_RECYCLE", value: "0"),
        .init(
            name: "zero leak threshold", environment: ["DB_LEAK_THRESHOLD": "0"], setting: "DB_LEAK_THRESHOLD",
            value: "0"),
        .init(
            name: "zero health interval", environment: ["DB_HEALTH_CHECK_INTERVAL": "0"],
            setting: "DB_HEALTH_CHECK_INTERVAL", value: "0"),
        .init(
            name: "garbage duration", environment: ["DB_POOL_TIMEOUT": "soon"], setting: "DB_POOL_TIMEOUT",
            value: "soon"),
        .init(
            name: "garbage boolean", environment: ["DB_POOL_PRE_PING": "maybe"], setting: "DB_POOL_PRE_PING",
            value: "maybe"),
        .init(
            name: "unparsable URL", environment: ["DATABASE_URL": "postgresql://app:s3cr3t-pw@db:notaport/app"],
            setting: "DATABASE_URL", value: "postgresql://app:***@db:notaport/app"),
        .init(
            name: "unknown scheme", environment: ["DATABASE_URL": "mysql://app:s3cr3t-pw@db/app"],
            setting: "DATABASE_URL", value: "mysql://app:***@db/app"),
        .init(
            name: "unparsable failover URL",
            environment: ["DATABASE_FAILOVER_URLS": "postgresql://ok@db2/app,postgresql://x:s3cr3t-pw@db3:99999/app"],
            setting: "DATABASE_FAILOVER_URLS", value: "postgresql://x:***@db3:99999/app"),
        .init(
            name: "duplicate target",
            environment: ["DATABASE_FAILOVER_URLS": "postgresql://other:s3cr3t-pw@db.example:5433/app"],
            setting: "", value: "postgresql://other:***@db.example:5433/app"),
        .init(name: "missing URL", environment: ["DATABASE_URL": "  "], setting: "DATABASE_URL", value: ""),
    ]

    @Test(arguments: badInputs)
    func badInputGivesATypedErrorNamingSettingAndValue(_ input: BadInput) throws {
        var environment = ["DATABASE_URL": Self.url]
        environment.merge(input.environment) { $1 }
        let error = try #require(throws: ConfigurationError.self) {
            try ConnectionPoolConfig.fromEnvironment(environment)
        }
        switch error {
        case .invalidValue(let setting, let value, let expected):
            #expect(setting == input.setting)
            #expect(value == input.value)
            #expect(!expected.isEmpty)
        case .invalidURL(let setting, let url, _), .unknownScheme(let setting, let url, _):
            #expect(setting == input.setting)
            #expect(url == input.value)
        case .duplicateTarget(let url):
            #expect(input.setting.isEmpty, "unexpected duplicateTarget")
            #expect(url == input.value)
        case .missingURL(let setting):
            #expect(setting == input.setting)
        case .invalidOption(let setting, _, let value, _):
            #expect(setting == input.setting)
            #expect(value == input.value)
        case .controlEndpointFailed(let setting, let path, _):
            #expect(setting == input.setting)
            #expect(path == input.value)
        }
        let text = error.description
        #expect(!text.contains("s3cr3t-pw"), "password leaked: \(text)")
        #expect(text.contains(input.setting) || input.setting.isEmpty)
        #expect(text.hasSuffix("."))
    }

    /// The same checks for a configuration built in code: `validate()` (and so the manager) refuses it.
    struct BadValue: Sendable, CustomTestStringConvertible {
        let setting: String
        let value: String
        let adjust: @Sendable (inout ConnectionPoolConfig) -> Void
        var testDescription: String { "\(setting)=\(value)" }
    }

    static let badValues: [BadValue] = [
        .init(setting: "pool_size", value: "0") { $0.poolSize = 0 },
        .init(setting: "pool_size", value: "-1") { $0.poolSize = -1 },
        .init(setting: "max_overflow", value: "-2") { $0.maxOverflow = -2 },
        .init(setting: "pool_timeout", value: "0.0s") { $0.poolTimeout = .zero },
        .init(setting: "pool_timeout", value: "-1.0s") { $0.poolTimeout = .seconds(-1) },
        .init(setting: "connect_timeout", value: "0.0s") { $0.connectTimeout = .zero },
        .init(setting: "query_timeout", value: "-2.0s") { $0.queryTimeout = .seconds(-2) },
        .init(setting: "pool_recycle", value: "0.0s") { $0.poolRecycle = .zero },
        .init(setting: "leak_threshold", value: "0.0s") { $0.leakThreshold = .zero },
        .init(setting: "health_check_interval", value: "0.0s") { $0.healthCheckInterval = .zero },
        .init(setting: "failover_retry_attempts", value: "-1") { $0.failoverRetryAttempts = -1 },
    ]

    @Test(arguments: badValues)
    func managerRefusesAnInvalidConfiguration(_ bad: BadValue) throws {
        var config = ConnectionPoolConfig(databaseURL: try DatabaseURL(Self.url))
        bad.adjust(&config)
        let error = try #require(throws: ConfigurationError.self) {
            _ = try ConnectionManager(configuration: config)
        }
        guard case .invalidValue(let setting, let value, _) = error else {
            Issue.record("expected invalidValue, got \(error)")
            return
        }
        #expect(setting == bad.setting)
        #expect(value == bad.value)
        #expect(!error.description.contains("s3cr3t-pw"))
    }

    @Test func duplicateTargetsAreRefusedEvenWhenSpelledDifferently() throws {
        var config = ConnectionPoolConfig(databaseURL: try DatabaseURL(Self.url))
        config.failoverURLs = [try DatabaseURL("host=db.example port=5433 dbname=app user=other password=s3cr3t-pw")]
        let error = try #require(throws: ConfigurationError.self) { try config.validate() }
        guard case .duplicateTarget(let url) = error else {
            Issue.record("expected duplicateTarget, got \(error)")
            return
        }
        #expect(url.contains("***"))
        #expect(!error.description.contains("s3cr3t-pw"))
    }

    // MARK: The factory

    @Test func createBuildsAWorkingManagerWithTheGivenKnobs() throws {
        let cluster = try ManagerTests.sharedCluster()
        let manager = try ConnectionManager.create(
            databaseURL: cluster.primary.url, poolSize: 3, maxOverflow: 2, leakDetection: false,
            healthMonitoring: false, failoverURLs: ["postgresql://postgres@127.0.0.1:1/postgres"])
        defer { manager.shutdown() }
        #expect(manager.configuration.poolSize == 3)
        #expect(manager.configuration.maxOverflow == 2)
        #expect(manager.configuration.leakDetectionEnabled == false)
        #expect(manager.configuration.healthCheckEnabled == false)
        #expect(manager.configuration.failoverURLs.map(\.port) == [1])
        #expect(manager.configuration.failoverEnabled)
        #expect(manager.metrics().size == 3)
        #expect(manager.metrics().maxOverflow == 2)
        let answer = try manager.withConnection { try $0.execute("SELECT 40 + 2")[row: 0].int(0) }
        #expect(answer == 42)
    }

    @Test func createDefaultsAreTheSeeds() throws {
        let manager = try ConnectionManager.create(
            databaseURL: try ManagerTests.sharedCluster().primary.url, healthMonitoring: false)
        defer { manager.shutdown() }
        #expect(manager.configuration.poolSize == 10)
        #expect(manager.configuration.maxOverflow == 20)
        #expect(manager.configuration.leakDetectionEnabled)
        #expect(manager.configuration.failoverURLs.isEmpty)
        #expect(!manager.configuration.failoverEnabled)
    }

    @Test func createRefusesBadInputWithTypedErrors() throws {
        let url = try ManagerTests.sharedCluster().primary.url
        #expect(
            throws: ConfigurationError.invalidValue(
                setting: "pool_size", value: "0", expected: "a whole number of at least 1")
        ) {
            _ = try ConnectionManager.create(databaseURL: url, poolSize: 0, healthMonitoring: false)
        }
        #expect(
            throws: ConfigurationError.invalidValue(
                setting: "max_overflow", value: "-1", expected: "a whole number of at least 0")
        ) {
            _ = try ConnectionManager.create(databaseURL: url, maxOverflow: -1, healthMonitoring: false)
        }
        #expect(throws: ConfigurationError.self) {
            _ = try ConnectionManager.create(databaseURL: url, leakThreshold: .zero, healthMonitoring: false)
        }
        let custom = try ConnectionManager.create(
            databaseURL: url, leakThreshold: .seconds(42), healthMonitoring: false)
        #expect(custom.configuration.leakThreshold == .seconds(42))
        custom.shutdown()
        let scheme = try #require(throws: ConfigurationError.self) {
            _ = try ConnectionManager.create(databaseURL: "redis://u:s3cr3t-pw@h/0", healthMonitoring: false)
        }
        #expect(scheme == .unknownScheme(setting: "DATABASE_URL", url: "redis://u:***@h/0", scheme: "redis"))
        let duplicate = try #require(throws: ConfigurationError.self) {
            _ = try ConnectionManager.create(databaseURL: url, healthMonitoring: false, failoverURLs: [url])
        }
        guard case .duplicateTarget = duplicate else {
            Issue.record("expected duplicateTarget, got \(duplicate)")
            return
        }
    }

    @Test func fromEnvironmentBuildsAManager() throws {
        let app = ManagerTests.applicationName("env")
        let manager = try ConnectionManager.fromEnvironment([
            "DATABASE_URL": try ManagerTests.sharedCluster().primary.url, "DB_POOL_SIZE": "2",
            "DB_MAX_OVERFLOW": "1", "DB_HEALTH_CHECK": "off", "DB_APPLICATION_NAME": app,
        ])
        defer { manager.shutdown() }
        let name = try manager.withConnection { try $0.execute("SELECT current_setting('application_name')") }
        #expect(try name[row: 0].string(0) == app)
        #expect(manager.metrics().size == 2)
        #expect(manager.metrics().maxOverflow == 1)
    }
}
