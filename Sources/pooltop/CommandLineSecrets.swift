import ConnectionManager
import Foundation

/// Blanks the passwords of `--url` and `--failover-url` in this process's own argument memory, as the mysql
/// client does for `-p`: `/proc/PID/cmdline` (what `ps` shows every local user) reads that memory, so without
/// this a password typed on the command line stays visible for the life of the dashboard.
///
/// Each password byte becomes `*` (the length stays visible); the rest of the argument stays readable. The
/// parsed copy (`CommandLine.arguments`) is not touched. It cannot help for the moment between the start of
/// the process and the call, nor against the shell's history: `DATABASE_URL`, `PGPASSFILE`/`.pgpass` or
/// `PGPASSWORD` keep a password off the command line altogether.
enum CommandLineSecrets {
    static let urlOptions = ["--url", "--failover-url"]

    /// Overwrites the password bytes of every URL option in `CommandLine.unsafeArgv`. Call after parsing.
    static func blank() {
        let argv = CommandLine.unsafeArgv
        var nextIsURL = false
        for index in 1..<Int(CommandLine.argc) {
            guard let argument = argv[index] else { continue }
            let length = strlen(argument)
            let bytes = Array(UnsafeRawBufferPointer(start: argument, count: length))
            let valueStart: Int?
            if nextIsURL {
                valueStart = 0
                nextIsURL = false
            } else if let option = urlOptions.first(where: { bytes.starts(with: Array(($0 + "=").utf8)) }) {
                valueStart = option.utf8.count + 1
            } else {
                nextIsURL = urlOptions.contains { Array($0.utf8) == bytes }
                valueStart = nil
            }
            guard let valueStart else { continue }
            for range in DatabaseURL.secretRanges(in: Array(bytes[valueStart...])) {
                for offset in range { argument[valueStart + offset] = CChar(bitPattern: UInt8(ascii: "*")) }
            }
        }
    }
}
