import ArgumentParser
import ConnectionManager
import Foundation

/// Options shared by every pooltop command. A flag beats the environment variable named in its help.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .long,
        help: """
            Database URL (postgresql://… or a libpq keyword string). Env: DATABASE_URL. A password given here is \
            blanked in /proc/PID/cmdline once parsed, but may sit in shell history: prefer DATABASE_URL, \
            PGPASSFILE/.pgpass or PGPASSWORD.
            """)
    var url: String?

    @Option(
        name: .customLong("failover-url"),
        help: """
            A failover target, tried in order; repeat for more (each flag is one target, commas included). \
            Env: DATABASE_FAILOVER_URLS (comma separated).
            """)
    var failoverURLs: [String] = []

    @Option(
        name: .customLong("pool-size"), parsing: .unconditional,
        help: "Persistent connections (default 10). Env: DB_POOL_SIZE.")
    var poolSize: String?

    @Option(
        name: .customLong("max-overflow"), parsing: .unconditional,
        help: "Temporary connections above the pool size (default 20). Env: DB_MAX_OVERFLOW.")
    var maxOverflow: String?

    @Option(
        name: .customLong("pool-timeout"), parsing: .unconditional,
        help: "Longest wait for a connection, e.g. 30s, 500ms (default 30s). Env: DB_POOL_TIMEOUT.")
    var poolTimeout: String?

    @Option(
        name: .customLong("health-interval"), parsing: .unconditional,
        help:
            "Time between health checks (default 60s; the dashboard uses 1s unless set). Env: DB_HEALTH_CHECK_INTERVAL."
    )
    var healthInterval: String?

    @Option(
        name: .customLong("leak-threshold"), parsing: .unconditional,
        help: "Hold time after which a checkout is a leak (default 300s). Env: DB_LEAK_THRESHOLD.")
    var leakThreshold: String?

    @Option(
        name: .customLong("connect-timeout"), parsing: .unconditional,
        help: "Deadline for opening a connection (default 5s). Env: DB_CONNECT_TIMEOUT.")
    var connectTimeout: String?

    static let flagName = [
        "DB_POOL_SIZE": "--pool-size", "DB_MAX_OVERFLOW": "--max-overflow", "DB_POOL_TIMEOUT": "--pool-timeout",
        "DB_HEALTH_CHECK_INTERVAL": "--health-interval", "DB_LEAK_THRESHOLD": "--leak-threshold",
        "DB_CONNECT_TIMEOUT": "--connect-timeout",
    ]

    /// The pool settings given as flags, by their variable names (`--pool-size 4` → `DB_POOL_SIZE: 4`).
    var flagSettings: [String: String] {
        let flags: [(String, String?)] = [
            ("DB_POOL_SIZE", poolSize), ("DB_MAX_OVERFLOW", maxOverflow), ("DB_POOL_TIMEOUT", poolTimeout),
            ("DB_HEALTH_CHECK_INTERVAL", healthInterval), ("DB_LEAK_THRESHOLD", leakThreshold),
            ("DB_CONNECT_TIMEOUT", connectTimeout),
        ]
        var settings: [String: String] = [:]
        for case let (name, value?) in flags { settings[name] = value }
        return settings
    }

    /// True when neither `--url` nor `DATABASE_URL` names a database.
    func hasNoDatabase(environment: [String: String]) -> Bool {
        url == nil && (environment["DATABASE_URL"] ?? "").trimmingCharacters(in: .whitespaces).isEmpty
    }

    /// The configuration from the environment, then the flags on top.
    /// - Parameter defaults: values that replace the library defaults before the environment is applied
    ///   (the dashboard checks health every second instead of every minute).
    func configuration(
        environment: [String: String], defaults: [String: String] = [:], fallbackURL: String? = nil
    ) throws(ConfigurationError) -> ConnectionPoolConfig {
        var env = defaults.merging(environment) { _, fromEnvironment in fromEnvironment }
        if let url { env["DATABASE_URL"] = url }
        if env["DATABASE_URL"] == nil, let fallbackURL { env["DATABASE_URL"] = fallbackURL }
        // Each --failover-url is one target, commas and all (multi-host URIs): never joined and re-split.
        if !failoverURLs.isEmpty { env.removeValue(forKey: "DATABASE_FAILOVER_URLS") }
        var flagNames: [String: String] = [:]
        for (name, value) in flagSettings {
            env[name] = value
            flagNames[name] = Self.flagName[name]
        }
        if url != nil { flagNames["DATABASE_URL"] = "--url" }
        if !failoverURLs.isEmpty { flagNames["DATABASE_FAILOVER_URLS"] = "--failover-url" }
        do {
            var config = try ConnectionPoolConfig.fromEnvironment(env)
            if !failoverURLs.isEmpty {
                config.failoverURLs = try failoverURLs.map { text throws(ConfigurationError) in
                    try DatabaseURL(text.trimmingCharacters(in: .whitespaces), setting: "--failover-url")
                }
                // As DATABASE_FAILOVER_URLS does: targets turn failover on unless DB_FAILOVER_ENABLED says otherwise.
                if env["DB_FAILOVER_ENABLED"] == nil { config.failoverEnabled = true }
                try config.validate()
            }
            return config
        } catch {
            // Name what the person typed: the flag when it came from a flag, else the variable.
            throw error.renamingSetting { flagNames[$0] ?? $0 }
        }
    }
}
