import ArgumentParser
import ConnectionManager
import Dashboard
import Foundation
import LocalCluster

/// `pooltop demo`: a throwaway primary + standby, a synthetic workload with leaks, and the dashboard on it.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a throwaway local PostgreSQL primary + streaming standby with a synthetic workload "
            + "(bursts, overflow, a leaked connection every few seconds) and watch it. Cleans up on exit.",
        discussion: """
            Needs the PostgreSQL server binaries (apt-get install postgresql); as root they run as the postgres \
            user. The standby is the failover target. Demo-only key K kills the primary (kill -9) and, two \
            seconds later, promotes the standby the way a cluster manager would, so the automatic failover can \
            be watched. Leak threshold 5 s unless --leak-threshold says otherwise.
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var display: DisplayOptions

    @Option(name: .customLong("leak-every"), help: "Time between deliberate leaks, 100ms to 1h (default 10s).")
    var leakEvery: String?

    func run() throws {
        if connection.url != nil || !connection.failoverURLs.isEmpty {
            throw ValidationError(
                "pooltop demo runs on its own throwaway servers and takes no --url or --failover-url; "
                    + "to watch your database run `pooltop --url …`.")
        }
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
        FileHandle.standardError.write(
            Data("pooltop demo: starting a throwaway PostgreSQL primary and standby…\n".utf8))
        let cluster: LocalCluster
        do {
            cluster = try LocalCluster.start(.init(withStandby: true))
        } catch {
            FileHandle.standardError.write(Data("pooltop demo: \(error)\n".utf8))
            throw ExitCode(1)
        }
        guard let standby = cluster.standby else { throw ExitCode(1) }
        let config: ConnectionPoolConfig
        do {
            // Flags still win: the demo only changes the defaults so that everything moves within seconds.
            var demoDefaults = [
                "DB_POOL_SIZE": "8", "DB_MAX_OVERFLOW": "6", "DB_POOL_TIMEOUT": "2s", "DB_LEAK_THRESHOLD": "5s",
                "DB_HEALTH_CHECK_INTERVAL": "1s", "DB_CONNECT_TIMEOUT": "1s", "DB_FAILOVER_RETRY_ATTEMPTS": "2",
                "DB_FAILOVER_RETRY_DELAY": "500ms", "DB_APPLICATION_NAME": "pooltop-demo",
            ]
            demoDefaults["DATABASE_FAILOVER_URLS"] = standby.url
            var env = environment
            env.removeValue(forKey: "DATABASE_URL")
            var options = connection
            options.url = cluster.primary.url
            config = try options.configuration(environment: env, defaults: demoDefaults)
        } catch {
            cluster.stop()
            throw error
        }
        let manager = try ConnectionManager(configuration: config, logger: Loggers.quiet("pooltop"))
        let workload = DemoWorkload(
            manager: manager, leakEvery: leakEvery,
            leakHold: .seconds(Int64(config.leakThreshold.components.seconds) + 12))
        let load = SyntheticLoad(manager: manager, clients: settings.load, query: settings.loadQuery)
        workload.start()
        load.start()
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
            workload.stop()
            load.stop()
            manager.shutdown()
            cluster.stop()
        }
        let options = DashboardOptions(
            refreshInterval: settings.refresh, theme: settings.theme, noColor: settings.noColor, isDemo: true,
            demoActions: [killAndPromote], title: "pooltop demo", onExit: cleanup)
        let code = DashboardApp.run(source: LabeledSource(manager, as: .demo), options: options)
        cleanup(code)
        throw ExitCode(code)
    }
}
