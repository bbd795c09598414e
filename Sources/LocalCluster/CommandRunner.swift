import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs PostgreSQL programs to completion with a deadline, capturing their combined output.
struct CommandRunner: Sendable {
    let binaries: PostgresBinaries
    let serverUser: ServerUser

    /// Runs a server-side program (`initdb`, `pg_ctl`, `pg_basebackup`) as the server user.
    @discardableResult
    func runServerProgram(
        _ program: String, _ arguments: [String], timeout: Duration = .seconds(60)
    ) throws(LocalClusterError) -> String {
        try run(serverUser.wrap([binaries.path(program)] + arguments), timeout: timeout)
    }

    /// Runs a client program (`psql`, `pg_isready`) as the current user; returns its output.
    @discardableResult
    func runClientProgram(
        _ program: String, _ arguments: [String], environment: [String: String] = [:],
        timeout: Duration = .seconds(60)
    ) throws(LocalClusterError) -> String {
        try run([binaries.path(program)] + arguments, environment: environment, timeout: timeout)
    }

    /// Runs `command`; throws `commandFailed` on a non-zero exit and `timedOut` (after killing it) at the deadline.
    func run(
        _ command: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)
    ) throws(LocalClusterError) -> String {
        let result = try Self.execute(command, environment: environment, timeout: timeout)
        guard result.exitCode == 0 else {
            throw .commandFailed(
                command: command.joined(separator: " "), exitCode: result.exitCode,
                output: result.output)
        }
        return result.output
    }

    /// Runs `command` and returns its exit status and combined output.
    ///
    /// Uses `posix_spawn` + `waitpid` rather than `Foundation.Process`: on Linux, Process learns that a child
    /// exited when a socket it shares with the child closes, and a daemon started by the child (the postmaster
    /// under `pg_ctl start`, the watchdog under `setsid -f`) inherits that socket, so Process never sees the exit.
    /// The child gets only stdin (/dev/null) and stdout/stderr (an unlinked temporary file, never a pipe that could
    /// fill up or be held open); every other descriptor is closed.
    static func execute(
        _ command: [String], environment: [String: String] = [:], timeout: Duration
    ) throws(LocalClusterError) -> (exitCode: Int32, output: String) {
        let rendered = command.joined(separator: " ")
        var template = Array("/tmp/pooltop-output-XXXXXX".utf8CString)
        let outputFD = mkstemp(&template)
        guard outputFD >= 0 else { throw .fileSystem("mkstemp for command output failed: \(errnoText())") }
        _ = fcntl(outputFD, F_SETFD, FD_CLOEXEC)
        defer { close(outputFD) }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 1)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 2)
        if let changeDirectory { _ = changeDirectory(&actions, "/") }  // the server user may not reach our cwd
        if let closeFrom { _ = closeFrom(&actions, 3) }

        let env = childEnvironment(caller: ProcessInfo.processInfo.environment, explicit: environment)
        let argv = command.map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }

        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, envp)
        guard spawned == 0 else {
            throw .commandFailed(command: rendered, exitCode: -1, output: String(cString: strerror(spawned)))
        }
        var status: Int32 = 0
        do {
            try waitUntil("`\(rendered)` to finish within \(timeout)", timeout: timeout, interval: .milliseconds(5)) {
                () -> Bool in
                let reaped = waitpid(pid, &status, WNOHANG)
                return reaped == pid || (reaped < 0 && errno != EINTR)
            }
        } catch {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
            throw error
        }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var offset: off_t = 0
        while true {
            let count = pread(outputFD, &buffer, buffer.count, offset)
            guard count > 0 else { break }
            data.append(contentsOf: buffer[..<count])
            offset += off_t(count)
        }
        // WIFEXITED / WEXITSTATUS; a signal death is reported as 128 + signal, like a shell does.
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitCode, String(decoding: data, as: UTF8.self))
    }

    /// The environment of every child (server programs, the servers themselves, psql, the watchdog): only what
    /// they need, never the caller's whole environment. A password in the caller's `DATABASE_URL`,
    /// `DATABASE_FAILOVER_URLS` or `PGPASSWORD` would otherwise sit in the servers' `/proc/PID/environ` for their
    /// whole life, and the caller's `PG*` variables (PGHOST, PGPORT, PGDATA…) would redirect the programs.
    ///
    /// Passed on: `PATH` (a default when unset), `TZ` and `TMPDIR` when set, and the C locale (`LANG`, `LC_ALL`;
    /// initdb gets `--locale=C -E UTF8` anyway); then `explicit` (e.g. `PGPASSWORD` for one psql call).
    static func childEnvironment(caller: [String: String], explicit: [String: String]) -> [String: String] {
        var env = ["PATH": caller["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C", "LC_ALL": "C"]
        for name in ["TZ", "TMPDIR"] { env[name] = caller[name] }
        env.merge(explicit) { _, new in new }
        return env
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift's Glibc module does not export.
    private static let closeFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: CloseFrom.self) }

    /// glibc's `posix_spawn_file_actions_addchdir_np` (2.29+), likewise not exported.
    private static let changeDirectory: ChangeDirectory? = dlsym(nil, "posix_spawn_file_actions_addchdir_np")
        .map { unsafeBitCast($0, to: ChangeDirectory.self) }

    private typealias ChangeDirectory =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
}

func errnoText() -> String { String(cString: strerror(errno)) }
