import ArgumentParser
import AttachCommandLine
import ConnectionManager
import Dashboard
import Foundation

/// `pooltop [OPTIONS]`: the dashboard on the database named by --url / DATABASE_URL, or the demo without one.
struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard",
        abstract: "The live dashboard (the default command). Without --url or DATABASE_URL it runs the demo.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var display: DisplayOptions

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        if connection.hasNoDatabase(environment: environment) {
            try DemoCommand.runDemo(connection: connection, display: display, leakEvery: .seconds(10))
            return
        }
        let settings = try display.resolve(environment: environment)
        try Terminal.requireTerminal()
        try Terminal.requireTheme(settings)
        // The dashboard wants a live health line: check every second unless told otherwise.
        let config = try connection.configuration(
            environment: environment, defaults: ["DB_HEALTH_CHECK_INTERVAL": "1s"])
        let manager = try ConnectionManager(configuration: config, logger: Loggers.quiet("pooltop"))
        let load = SyntheticLoad(manager: manager, clients: settings.load, query: settings.loadQuery)
        do {
            try load.start()
        } catch {
            // Before the screen is taken: the terminal is untouched.
            load.stop()
            manager.shutdown()
            FileHandle.standardError.write(Data("pooltop: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let options = DashboardOptions(
            refreshInterval: settings.refresh, theme: settings.theme, noColor: settings.noColor,
            onExit: { _ in
                load.stop()
                manager.shutdown()
            })
        // pooltop's own pool: the screen says so, so that nobody reads it as a service's.
        let code = DashboardApp.run(source: LabeledSource(manager, as: .embeddedProbe), options: options)
        load.stop()
        manager.shutdown()
        throw ExitCode(code)
    }
}
