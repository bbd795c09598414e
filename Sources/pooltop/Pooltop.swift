import ArgumentParser
import ConnectionManager
import Foundation

/// `pooltop`: a `top` for a PostgreSQL connection pool.
struct Pooltop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pooltop",
        abstract: "A live dashboard for a PostgreSQL connection pool (a `top` for your pool).",
        discussion: """
            With no --url and no DATABASE_URL, pooltop runs the demo: a throwaway local PostgreSQL primary \
            and standby with a synthetic workload (see `pooltop demo --help`).
            Every option has an environment variable (named in its help); a flag beats the environment.
            Exit codes: 0 ok, 1 unhealthy (status), 2 bad input or configuration.
            """,
        subcommands: [TopCommand.self, DemoCommand.self, StatusCommand.self],
        defaultSubcommand: TopCommand.self
    )
}

/// Runs the command line; maps every usage or configuration error to exit code 2 with a clear message.
@main
enum Main {
    static func main() {
        let command: ParsableCommand
        do {
            command = try Pooltop.parseAsRoot()
        } catch {
            let code = Pooltop.exitCode(for: error)
            if code == .success {
                Pooltop.exit(withError: error)  // --help, --version
            }
            FileHandle.standardError.write(Data((Pooltop.fullMessage(for: error) + "\n").utf8))
            exit(2)
        }
        do {
            var runnable = command
            try runnable.run()
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("pooltop: \(error)\n".utf8))
            exit(2)
        } catch let error as ExitCode {
            exit(error.rawValue)
        } catch {
            FileHandle.standardError.write(Data("pooltop: \(error)\n".utf8))
            exit(2)
        }
    }
}
