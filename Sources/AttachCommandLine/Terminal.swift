import ArgumentParser
import Dashboard
import PoolModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Checks made before anything is started, so bad input exits 2 without side effects.
package enum Terminal {
    package static func requireTerminal() throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            StandardError.write(DashboardApp.notATerminalMessage + "\n")
            throw ExitCode(2)
        }
        if let problem = DashboardApp.terminalProblem() {
            StandardError.write("pooltop: \(problem)\n")
            throw ExitCode(2)
        }
    }

    package static func requireTheme(_ settings: DisplayOptions.Resolved) throws {
        do {
            let options = DashboardOptions(theme: settings.theme, noColor: settings.noColor)
            _ = try ThemeLoader().theme(for: options)
        } catch {
            StandardError.write("pooltop: \(error)\n")
            throw ExitCode(2)
        }
    }
}
