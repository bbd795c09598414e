import Foundation

/// Why a throwaway PostgreSQL cluster could not be started, controlled or queried.
public enum LocalClusterError: Error, CustomStringConvertible, Sendable {
    /// The PostgreSQL server programs are not installed; the text names the missing programs and the fix.
    case binariesMissing(String)
    /// The process runs as root but there is no `postgres` system user to run the server as.
    case systemUserMissing(String)
    /// A command exited with a non-zero status; `output` is its combined stdout and stderr.
    case commandFailed(command: String, exitCode: Int32, output: String)
    /// Something did not happen before its deadline; the text says what was awaited.
    case timedOut(String)
    /// A file or directory could not be created, read or written.
    case fileSystem(String)

    public var description: String {
        switch self {
        case .binariesMissing(let detail):
            return "PostgreSQL server programs were not found (\(detail)). "
                + "Install them with `apt-get install postgresql`, or put their directory on PATH."
        case .systemUserMissing(let detail):
            return "Running as root requires the `postgres` system user (\(detail)). "
                + "Install PostgreSQL with `apt-get install postgresql`, which creates it."
        case .commandFailed(let command, let exitCode, let output):
            let trimmed = output.trimmingCharacters(in: .whitespacesAndNewlines)
            return "`\(command)` failed with exit code \(exitCode): \(trimmed)"
        case .timedOut(let what):
            return "Timed out waiting for \(what)."
        case .fileSystem(let detail):
            return "File system error: \(detail)."
        }
    }
}
