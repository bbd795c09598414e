import ArgumentParser
import AttachCommandLine
import ConnectionManager
import Foundation
import Logging

/// `pooltop`: a `top` for a PostgreSQL connection pool.
struct Pooltop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pooltop",
        abstract: "A live dashboard for a PostgreSQL connection pool (a `top` for your pool).",
        usage: "pooltop [OPTIONS]\n  pooltop <subcommand>",
        discussion: """
            With no --url and no DATABASE_URL, pooltop runs the demo: a throwaway local PostgreSQL primary \
            and standby with a synthetic workload (see `pooltop demo --help`).
            Every option has an environment variable (named in its help); a flag beats the environment.
            Exit codes: 0 ok, 1 unhealthy (status), 2 bad input or configuration.
            Passwords: keep them off the command line (DATABASE_URL, PGPASSFILE/.pgpass or PGPASSWORD); one in \
            --url or --failover-url is overwritten with * in the process's arguments right after parsing. \
            Every configured password is masked (***) in everything pooltop prints.
            """ + dashboardOptionsHelp,
        version: "pooltop \(ControlProtocol.libraryVersion) (control protocol \(ControlProtocol.version))",
        subcommands: [
            TopCommand.self, DemoCommand.self, AttachCommand.self, LsCommand.self, CtlCommand.self,
            StatusCommand.self, BenchFrameCommand.self, DemoServiceCommand.self,
        ],
        defaultSubcommand: TopCommand.self
    )
}

extension Pooltop {
    /// The options of the dashboard (the default command), for the top-level `--help`: ArgumentParser lists only
    /// the root's own options there, and the dashboard's are what `pooltop [OPTIONS]` takes. Taken from the
    /// dashboard's own help, so that the two never differ.
    static var dashboardOptionsHelp: String {
        let lines = TopCommand.helpMessage(columns: 80).split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("OPTIONS:") }) else { return "" }
        let options = lines[(start + 1)...].prefix { !$0.hasPrefix("  --version") && !$0.hasPrefix("  -h, --help") }
        return "\n\nDASHBOARD OPTIONS (`pooltop [OPTIONS]`, the default command):\n"
            + options.joined(separator: "\n").trimmingSuffixNewlines
    }
}

extension String {
    fileprivate var trimmingSuffixNewlines: String {
        var text = self
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}

/// Runs the command line; maps every usage or configuration error to exit code 2 with a clear message.
///
/// `pooltop attach` checks its arguments here, then replaces this process with `pooltop-attach` next to this
/// executable (same arguments, same environment, same pid): the attached dashboard then maps no libpq and no full
/// Foundation. Without that binary it attaches in this process.
@main
enum Main {
    static func main() {
        do {
            var command = try Pooltop.parseAsRoot()
            CommandLineSecrets.blank()
            if let attach = command as? AttachCommand {
                _ = try attach.checkArguments(environment: ProcessInfo.processInfo.environment)
                AttachBinary.handOff()
            }
            try command.run()
        } catch {
            CommandLineExit.terminate(for: error, root: Pooltop.self)
        }
    }
}

/// Loggers for the commands: the dashboard owns the terminal, so nothing may print while it runs.
enum Loggers {
    static func quiet(_ label: String) -> Logger {
        var logger = Logger(label: label, factory: { _ in SwiftLogNoOpLogHandler() })
        logger.logLevel = .critical
        return logger
    }

    static func errorsOnly(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = .error
        return logger
    }
}
