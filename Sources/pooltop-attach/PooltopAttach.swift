import ArgumentParser
import AttachCommandLine
import PoolModel

/// `pooltop-attach`: `pooltop attach` alone (the attached dashboard), for a small footprint: no libpq, no pool, no
/// full Foundation or ICU. `pooltop attach …` execs it with the same arguments (`pooltop-attach attach …`); run
/// directly, `pooltop-attach SOCKET` works too.
@main
struct PooltopAttach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pooltop",
        abstract: "Watch and steer the pool inside a running service (pooltop attach).",
        version: "pooltop \(ControlProtocol.libraryVersion) (control protocol \(ControlProtocol.version))",
        subcommands: [AttachCommand.self],
        defaultSubcommand: AttachCommand.self
    )

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            CommandLineExit.terminate(for: error, root: Self.self)
        }
    }
}
