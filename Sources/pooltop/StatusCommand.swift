import ArgumentParser
import ConnectionManager
import Foundation

/// `pooltop status`: one health check, the comprehensive status, an exit code for scripts.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Run one health check, print the status and exit: 0 healthy, 1 unhealthy, 2 bad input.",
        discussion: "The JSON keys (--json) are the seed's: healthy, pool_metrics, health_check, health_stats, "
            + "failover_stats, leak_detection. Times are seconds, timestamps ISO 8601, passwords masked."
    )

    @Flag(name: .long, help: "Print the status as one JSON document.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        if connection.hasNoDatabase(environment: environment) {
            throw ConfigurationError.missingURL(setting: "--url or DATABASE_URL")
        }
        var config = try connection.configuration(environment: environment)
        // One check now; no timers, no background threads for a one-shot command.
        config.healthCheckEnabled = false
        config.leakDetectionEnabled = false
        let manager = try ConnectionManager(configuration: config, logger: Loggers.errorsOnly("pooltop.status"))
        defer { manager.shutdown() }
        _ = manager.checkHealthNow()
        let status = manager.healthStatus()
        if json {
            print(String(decoding: try status.jsonData(), as: UTF8.self))
        } else {
            print(status.summary)
        }
        if !status.healthy { throw ExitCode(1) }
    }
}
