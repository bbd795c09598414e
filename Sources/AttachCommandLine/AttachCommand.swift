import ArgumentParser
import Dashboard
import PoolModel

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `pooltop attach [SOCKET|DIR|POOL]...`: the dashboard on a running service's pool, through its control socket.
package struct AttachCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Watch and steer the pool inside a running service, through its control socket.",
        discussion: """
            The service turns its endpoint on with DB_CONTROL_SOCKET=auto (a socket <pool>.<pid>.sock in the \
            per-user control directory: $XDG_RUNTIME_DIR/pooltop/ or /tmp/pooltop-<uid>/) or \
            DB_CONTROL_SOCKET=/path/to.sock. With no argument (and no POOLTOP_ATTACH), pooltop looks in the control \
            directory: one live service is attached; several are listed (exit 2, choose one); none exits 1. \
            An argument is a socket, a directory of sockets, or a pool name. Every key acts on the service (f, x, s, \
            e) and shows what the service answered. When the service stops answering, the screen keeps its last \
            state, marked STALE, and retries; a service restarted on an auto socket is found again. \
            pooltop holds no database connection of its own while attached.
            Exit codes: 0 after q, 1 no service answers, 2 bad input (or several services: choose one).
            """)

    @Argument(
        help:
            "Control sockets, directories of them, or pool names (default: $POOLTOP_ATTACH, else the control directory)."
    )
    package var targets: [String] = []

    @OptionGroup package var display: DisplayOptions

    package init() {}

    /// The checks of the arguments alone (no socket is touched): bad input exits 2 before `pooltop` hands the
    /// command to `pooltop-attach`, and again in `pooltop-attach` itself.
    package func checkArguments(environment: [String: String]) throws -> DisplayOptions.Resolved {
        let settings = try display.resolve(environment: environment)
        if display.load != nil || display.loadQuery != nil {
            throw CommandFailure.badInput(
                "pooltop attach: --load and --load-query run pooltop's own clients; attach only watches a service "
                    + "(use `pooltop --url … --load N` for a synthetic load).")
        }
        return settings
    }

    package func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let settings = try checkArguments(environment: environment)
        let path = try Self.choose(targets, environment: environment)
        let source: RemoteMonitorSource
        do {
            source = try RemoteMonitorSource.connect(socketPath: path)
        } catch {
            throw CommandFailure.failed("pooltop attach: \(error.description)")
        }
        try Terminal.requireTerminal()
        try Terminal.requireTheme(settings)
        let options = DashboardOptions(
            refreshInterval: settings.refresh, theme: settings.theme, noColor: settings.noColor, title: "pooltop")
        throw ExitCode(DashboardApp.run(source: source, options: options))
    }

    /// The one socket to attach to, or a failure saying why there is none or which to choose.
    package static func choose(_ targets: [String], environment: [String: String]) throws(CommandFailure) -> String {
        let resolution = try ControlEndpoints.resolve(targets, command: "attach", environment: environment)
        if resolution.isExplicitSocket { return resolution.sockets[0] }
        let probes = ControlEndpoints.probe(resolution.sockets)
        let live = probes.filter { $0.info != nil }
        switch live.count {
        case 1:
            return live[0].path
        case 0:
            throw .failed(ControlEndpoints.noneMessage("attach", resolution, probes: probes))
        default:
            throw .badInput(
                "pooltop attach: \(live.count) services answer; choose one with `pooltop attach SOCKET` "
                    + "(or its pool name):\n" + ControlEndpoints.describe(live))
        }
    }
}
