import ArgumentParser
import AttachCommandLine
import ConnectionManager
import Foundation

/// `pooltop status`: one health check, the comprehensive status, an exit code for scripts.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "Run one health check, print the status and exit: 0 healthy, 1 unhealthy or sessions blocked, 2 bad input.",
        discussion: "The JSON keys (--json) are the seed's: healthy, pool_metrics, health_check, health_stats, "
            + "failover_stats, leak_detection, and blocked when sessions wait for a lock longer than "
            + "DB_BLOCKED_THRESHOLD (default 5s; then healthy is false and server_answers says whether the server "
            + "itself answers). Times are seconds, timestamps ISO 8601, passwords masked. "
            + "With --socket S, the status is the live one of the service behind its control socket (S may be a "
            + "pool name): no pool is opened. A service that does not answer exits 1 with the reason on stderr; "
            + "a path that is not a control socket exits 2."
    )

    @Option(
        name: .long, help: "Read the status from a service's control socket (or pool name) instead of opening a pool.")
    var socket: String?

    @Flag(name: .long, help: "Print the status as one JSON document.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        if let socket {
            try statusFromSocket(socket, environment: environment)
            return
        }
        if connection.hasNoDatabase(environment: environment) {
            throw ConfigurationError.missingURL(setting: "--url or DATABASE_URL")
        }
        var config = try connection.configuration(environment: environment)
        // One check now; no timers, no background threads for a one-shot command.
        config.healthCheckEnabled = false
        config.leakDetectionEnabled = false
        let manager = try ConnectionManager(configuration: config, logger: Loggers.errorsOnly("pooltop.status"))
        defer { manager.shutdown() }
        // The server's view too: a healthy server whose clients wait behind a lock is not healthy.
        if manager.checkHealthNow().healthy { manager.refreshServerOverview() }
        let status = manager.healthStatus()
        if json {
            print(String(decoding: try status.jsonData(), as: UTF8.self))
        } else {
            print(status.summary)
        }
        if !status.healthy { throw ExitCode(1) }
    }

    /// `--socket`: `GET /v1/status` from the service; exit 0 (200) / 1 (503 or no answer) / 2 (bad path).
    private func statusFromSocket(_ socket: String, environment: [String: String]) throws {
        if connection.url != nil || !connection.failoverURLs.isEmpty {
            throw CommandFailure.badInput(
                "pooltop status: --socket reads a running service's status; it takes no --url or --failover-url.")
        }
        let resolution = try ControlEndpoints.resolve([socket], command: "status", environment: environment)
        guard resolution.sockets.count == 1 else {
            throw CommandFailure.badInput(
                "pooltop status: \(socket) holds \(resolution.sockets.count) sockets; expected one control socket "
                    + "(`pooltop ls` lists them).")
        }
        let reply: ControlClient.StatusReply
        do {
            reply = try ControlClient(socketPath: resolution.sockets[0], timeout: .seconds(5)).status()
        } catch {
            if case .invalidPath = error { throw CommandFailure.badInput("pooltop status: \(error.description)") }
            throw CommandFailure.failed("pooltop status: \(error.description)")
        }
        if json {
            print(String(decoding: reply.json, as: UTF8.self))
        } else {
            print(reply.status.summary)
        }
        if !reply.isHealthy { throw ExitCode(1) }
    }
}
