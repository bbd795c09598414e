import Foundation

@testable import LocalCluster

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `psql` over TCP (127.0.0.1) as `user` with `PGPASSWORD`; returns exit code and output.
func psqlOverTCP(_ member: Member, user: String, password: String, sql: String) throws -> (Int32, String) {
    let psql = try PostgresBinaries.locate().path("psql")
    let result = try CommandRunner.execute(
        [
            psql, "-X", "-A", "-t", "-w", "-h", "127.0.0.1", "-p", String(member.port), "-U", user, "-d", "postgres",
            "-c", sql,
        ],
        environment: ["PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"], timeout: .seconds(10))
    return (result.exitCode, result.output.trimmingCharacters(in: .whitespacesAndNewlines))
}

/// Polls `check` every 20 ms until it is true or `timeout` passes; returns its last value.
func eventually(timeout: Duration = .seconds(10), _ check: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try check() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return try check()
}

/// A `psql` process holding one open TCP connection, fed statements on stdin.
final class InteractivePsql {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffer = ""

    init(_ member: Member) throws {
        process.executableURL = URL(fileURLWithPath: try PostgresBinaries.locate().path("psql"))
        process.arguments = [
            "-X", "-A", "-t", "-h", "127.0.0.1", "-p", String(member.port), "-U", "postgres",
            "-d", "postgres",
        ]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    func send(_ sql: String) {
        input.fileHandleForWriting.write(Data((sql + "\n").utf8))
    }

    /// The next output line, or nil when none arrives within `timeout`.
    func readLine(timeout: Duration) -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let newline = buffer.firstIndex(of: "\n") {
                let line = String(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return line
            }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return nil }
            let milliseconds =
                Int32(
                    remaining.components.seconds * 1000
                        + remaining.components.attoseconds / 1_000_000_000_000_000) + 1
            var entry = pollfd(fd: output.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, milliseconds) > 0 else { continue }
            var bytes = [UInt8](repeating: 0, count: 4096)
            let count = read(entry.fd, &bytes, bytes.count)
            guard count > 0 else { return nil }
            buffer += String(decoding: bytes[..<count], as: UTF8.self)
        }
    }

    func close() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
