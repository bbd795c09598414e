import ArgumentParser
import AttachCommandLine
import ConnectionManager
import Dashboard
import Foundation
import LocalCluster

/// `pooltop demo`: a throwaway primary + standby, a synthetic workload with leaks, and the dashboard on it.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a throwaway local PostgreSQL primary + streaming standby and a demo service on them "
            + "(bursts, overflow, a leaked connection every few seconds), and attach to it. Cleans up on exit.",
        discussion: """
            Needs the PostgreSQL server binaries (apt-get install postgresql); as root they run as the postgres \
            user. The workload runs in a separate service process (this binary again, pool name pooltop-demo) that \
            embeds ConnectionManager with its control socket on, in a private 0700 directory under /tmp; the \
            dashboard attaches to it exactly as `pooltop attach` does, so f, x, s and e act in that service \
            through the socket. The header names the service and its pid. The standby is the failover target. \
            Demo-only key K kills the primary (kill -9) and, two seconds later, promotes the standby the way a \
            cluster manager would, so the automatic failover can be watched. Leak threshold 5 s unless \
            --leak-threshold says otherwise; pool settings (flags and DB_* variables) and --load apply to the service.
            If the service crashes, the screen turns STALE and pooltop restarts it once (2 s later); a second crash \
            is reported on screen and not restarted. On q, Ctrl-C, SIGTERM or a crash of pooltop, the service and \
            the servers stop, and the socket, the service's log and every directory are removed.
            To watch your own service, see `pooltop attach --help` and Sources/pooltop-example-service.
            """)

    @OptionGroup var connection: DemoPoolOptions
    @OptionGroup var display: DisplayOptions

    @Option(
        name: .customLong("leak-every"), parsing: .unconditional,
        help: "Time between deliberate leaks, 100ms to 1h (default 10s).")
    var leakEvery: String?

    func run() throws {
        let connection = try self.connection.connectionOptions()
        let every =
            try leakEvery.map { text throws(ConfigurationError) in
                try ConfigurationValue.duration(text, setting: "--leak-every", within: SettingLimits.leakEvery)
            } ?? .seconds(10)
        try Self.runDemo(connection: connection, display: display, leakEvery: every)
    }

    static func runDemo(connection: ConnectionOptions, display: DisplayOptions, leakEvery: Duration) throws {
        let environment = ProcessInfo.processInfo.environment
        let settings = try display.resolve(environment: environment)
        try Terminal.requireTerminal()
        try Terminal.requireTheme(settings)
        // Bad settings exit 2 before anything is started (placeholder URLs: only the servers are missing).
        _ = try DemoSettings.service(
            connection, caller: environment, primary: DemoSettings.placeholderURL,
            standby: DemoSettings.placeholderStandbyURL)
        say("starting a throwaway PostgreSQL primary and standby…")
        let cluster: LocalCluster
        do {
            cluster = try LocalCluster.start(.init(withStandby: true))
        } catch {
            say("\(error)")
            throw ExitCode(1)
        }
        guard let standby = cluster.standby else { throw ExitCode(1) }
        let service: DemoService
        let source: RemoteMonitorSource
        do {
            let serviceSettings = try DemoSettings.service(
                connection, caller: environment, primary: cluster.primary.url, standby: standby.url)
            say("starting the demo service (pooltop demo-service, pool \(DemoService.poolName))…")
            service = try DemoService.start(
                serviceArguments: DemoSettings.serviceArguments(leakEvery: leakEvery, display: settings),
                settings: serviceSettings, caller: environment)
        } catch {
            cluster.stop()
            say("\(error)")
            throw ExitCode(error is ConfigurationError ? 2 : 1)
        }
        do {
            // The same source as `pooltop attach`: every key travels through the service's control socket.
            source = try RemoteMonitorSource.connect(socketPath: service.socketPath)
        } catch {
            service.stop()
            cluster.stop()
            say("cannot attach to the demo service: \(error.description)")
            throw ExitCode(1)
        }
        // K stays pooltop's: pooltop owns the cluster, the service only uses it.
        let killAndPromote = DemoAction(key: "K", help: "kill primary, promote standby") {
            do {
                try cluster.primary.kill9()
            } catch {
                return MonitorCommandOutcome(succeeded: false, message: "Could not kill the primary: \(error)")
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + 2) { try? standby.promote() }
            return MonitorCommandOutcome(
                succeeded: true, message: "Killed the primary; the standby will be promoted in 2 s. Watch the failover."
            )
        }
        let cleanup: @Sendable (Int32) -> Void = { _ in
            service.stop()
            cluster.stop()
            let crashes = service.crashes
            if !crashes.isEmpty {
                say(crashes.joined(separator: "; ") + ".")
            }
        }
        let options = DashboardOptions(
            refreshInterval: settings.refresh, theme: settings.theme, noColor: settings.noColor, isDemo: true,
            demoActions: [killAndPromote], title: "pooltop demo", onExit: cleanup)
        let code = DashboardApp.run(source: DemoServiceSource(source, service: service), options: options)
        cleanup(code)
        throw ExitCode(code)
    }

    private static func say(_ text: String) {
        FileHandle.standardError.write(Data("pooltop demo: \(text)\n".utf8))
    }
}

/// The pool settings the demo takes, with the demo's own defaults (``DemoSettings/defaults``) in their help: no
/// `--url` or `--failover-url` (the demo runs on its own throwaway servers).
struct DemoPoolOptions: ParsableArguments {
    @Option(
        name: .customLong("pool-size"), parsing: .unconditional,
        help: "Persistent connections (default 8). Env: DB_POOL_SIZE.")
    var poolSize: String?

    @Option(
        name: .customLong("max-overflow"), parsing: .unconditional,
        help: "Temporary connections above the pool size (default 6). Env: DB_MAX_OVERFLOW.")
    var maxOverflow: String?

    @Option(
        name: .customLong("pool-timeout"), parsing: .unconditional,
        help: "Longest wait for a connection, e.g. 2s, 500ms (default 2s). Env: DB_POOL_TIMEOUT.")
    var poolTimeout: String?

    @Option(
        name: .customLong("health-interval"), parsing: .unconditional,
        help: "Time between health checks (default 1s). Env: DB_HEALTH_CHECK_INTERVAL.")
    var healthInterval: String?

    @Option(
        name: .customLong("leak-threshold"), parsing: .unconditional,
        help: "Hold time after which a checkout is a leak (default 5s). Env: DB_LEAK_THRESHOLD.")
    var leakThreshold: String?

    @Option(
        name: .customLong("connect-timeout"), parsing: .unconditional,
        help: "Deadline for opening a connection (default 1s). Env: DB_CONNECT_TIMEOUT.")
    var connectTimeout: String?

    /// Refused, with advice (not in the help: the demo takes no database).
    @Option(name: .long, help: .private) var url: String?
    @Option(name: .customLong("failover-url"), help: .private) var failoverURLs: [String] = []

    /// The same settings as the dashboard's ``ConnectionOptions`` (no URL), for ``DemoSettings/service``.
    func connectionOptions() throws -> ConnectionOptions {
        if url != nil || !failoverURLs.isEmpty {
            throw ValidationError(
                "pooltop demo runs on its own throwaway servers and takes no --url or --failover-url; "
                    + "to watch your database run `pooltop --url …`.")
        }
        let flags: [(String, String?)] = [
            ("--pool-size", poolSize), ("--max-overflow", maxOverflow), ("--pool-timeout", poolTimeout),
            ("--health-interval", healthInterval), ("--leak-threshold", leakThreshold),
            ("--connect-timeout", connectTimeout),
        ]
        return try ConnectionOptions.parse(flags.flatMap { name, value in value.map { [name, $0] } ?? [] })
    }
}

/// What the demo service is started with.
enum DemoSettings {
    /// Defaults that make everything move within seconds; the caller's variables and pooltop's flags beat them.
    static let defaults = [
        "DB_POOL_SIZE": "8", "DB_MAX_OVERFLOW": "6", "DB_POOL_TIMEOUT": "2s", "DB_LEAK_THRESHOLD": "5s",
        "DB_HEALTH_CHECK_INTERVAL": "1s", "DB_CONNECT_TIMEOUT": "1s", "DB_FAILOVER_RETRY_ATTEMPTS": "2",
        "DB_FAILOVER_RETRY_DELAY": "500ms",
    ]
    /// Set by the demo itself: the targets are the throwaway servers, the endpoint is the demo's own socket.
    static let notForwarded: Set = [
        "DATABASE_FAILOVER_URLS", "DB_CONTROL_SOCKET", "DB_POOL_NAME", "DB_CONTROL_GROUP", "DB_CONTROL_GROUP_CAN_ACT",
    ]
    static let placeholderURL = "postgresql://postgres@127.0.0.1:5432/postgres"
    static let placeholderStandbyURL = "postgresql://postgres@127.0.0.1:5433/postgres"

    /// `DATABASE_URL`, `DATABASE_FAILOVER_URLS` and the `DB_*` settings of the service: the defaults above, the
    /// caller's pool settings (only the variables `ConnectionPoolConfig` reads), then pooltop's flags. Validated
    /// as the service will read them; an error names the flag or variable as typed.
    static func service(
        _ options: ConnectionOptions, caller: [String: String], primary: String, standby: String
    ) throws(ConfigurationError) -> [String: String] {
        var forwarded: [String: String] = [:]
        for setting in ConnectionPoolConfig.environmentSettings where !notForwarded.contains(setting.variable) {
            forwarded[setting.variable] = caller[setting.variable]
        }
        forwarded["DATABASE_URL"] = primary
        forwarded["DATABASE_FAILOVER_URLS"] = standby
        _ = try options.configuration(environment: forwarded, defaults: defaults)
        return defaults.merging(forwarded) { _, new in new }.merging(options.flagSettings) { _, new in new }
    }

    /// The options of `pooltop demo-service`: the leak period and the `--load` clients run in the service.
    static func serviceArguments(leakEvery: Duration, display: DisplayOptions.Resolved) -> [String] {
        ["--leak-every", "\(DemoWorkload.milliseconds(leakEvery))ms", "--load", String(display.load)]
            + (display.load > 0 ? ["--load-query", display.loadQuery] : [])
    }
}

/// The remote source on the demo service, plus what only pooltop knows: while the service does not answer, the
/// hint line says whether it crashed and is being restarted (`DemoService.note`), not just "disconnected".
/// Everything else (snapshots, commands, stacks) is `RemoteMonitorSource`'s, exactly as `pooltop attach`.
final class DemoServiceSource: MonitorSource {
    let remote: RemoteMonitorSource
    let service: DemoService

    init(_ remote: RemoteMonitorSource, service: DemoService) {
        self.remote = remote
        self.service = service
    }

    /// The remote source's, with the service named by its pool name: its program is this same pooltop binary, so
    /// the header reads `pooltop-demo pid N` (the service's pid) rather than `pooltop pid N pool pooltop-demo`,
    /// which leaves an 80-column header room for the failover count.
    var sourceDescription: SourceDescription {
        guard case .attached(var attached) = remote.sourceDescription else { return remote.sourceDescription }
        attached.program = attached.poolName
        return .attached(attached)
    }

    func sourceStatus() -> SourceStatus {
        let status = remote.sourceStatus()
        guard case .stale(let since, let reason, let checkedAt) = status, let note = service.note else { return status }
        return .stale(since: since, reason: "\(note) (\(reason))", checkedAt: checkedAt)
    }

    func snapshot() -> ManagerSnapshot { remote.snapshot() }
    func perform(_ command: MonitorCommand) -> MonitorCommandOutcome { remote.perform(command) }
    func checkoutStack(connectionID: Int) -> [StackFrame] { remote.checkoutStack(connectionID: connectionID) }
}
