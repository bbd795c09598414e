import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The `pooltop-example-service` executable (built next to `pooltop`) running as a separate process with its
/// control endpoint on: the service `pooltop attach` watches in the end-to-end tests.
final class ExampleService {
    let pid: pid_t
    let logPath: String
    private(set) var isStopped = false

    /// The executable next to the `pooltop` that the tests run.
    static func binary() throws -> String {
        URL(fileURLWithPath: try PooltopBinary.path()).deletingLastPathComponent()
            .appendingPathComponent("pooltop-example-service").path
    }

    /// Starts the service on `databaseURL` with `DB_CONTROL_SOCKET=socket` (`auto` or a path) and waits until its
    /// socket exists (`socketPath`, or the `auto` socket in `runtimeDirectory/pooltop`).
    init(
        databaseURL: String, socket: String, poolName: String, runtimeDirectory: String,
        extra: [String: String] = [:]
    ) throws {
        logPath = "/tmp/pooltop-e2e-service-\(getpid())-\(poolName)-\(Int(Date().timeIntervalSince1970 * 1000)).log"
        var env = ProcessInfo.processInfo.environment
        for name in ["DATABASE_FAILOVER_URLS", "DB_POOL_SIZE", "DB_MAX_OVERFLOW"] { env.removeValue(forKey: name) }
        env.merge(
            [
                "DATABASE_URL": databaseURL, "DB_CONTROL_SOCKET": socket, "DB_POOL_NAME": poolName,
                "XDG_RUNTIME_DIR": runtimeDirectory, "DB_LEAK_THRESHOLD": "2s", "DB_HEALTH_CHECK_INTERVAL": "1s",
                "SWIFT_BACKTRACE": "interactive=no",
            ]
        ) { _, new in new }
        env.merge(extra) { _, new in new }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let binary = try Self.binary()
        let argv = [strdup(binary), nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, binary, &actions, nil, argv, envp)
        guard spawned == 0 else {
            throw Subprocess.Failure(description: "cannot start \(binary): \(String(cString: strerror(spawned)))")
        }
        pid = child
        let expected = socket == "auto" ? "\(runtimeDirectory)/pooltop/\(poolName).\(child).sock" : socket
        guard eventually(timeout: .seconds(30), { Self.isSocket(expected) || !self.isRunning }), isRunning else {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            stop()
            throw Subprocess.Failure(description: "the example service did not open \(expected); its log:\n\(log)")
        }
        socketPath = expected
    }

    /// The socket it serves on.
    private(set) var socketPath = ""

    var isRunning: Bool {
        var status: Int32 = 0
        return !isStopped && waitpid(pid, &status, WNOHANG) == 0
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Ends the process (`SIGKILL`: a crash, leaving its socket file; `SIGTERM`: a clean shutdown) and reaps it.
    func stop(_ signal: Int32 = SIGTERM) {
        guard !isStopped else { return }
        isStopped = true
        kill(pid, signal)
        var status: Int32 = 0
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if clock.now >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                break
            }
            usleep(20_000)
        }
    }

    deinit {
        stop()
        unlink(logPath)
    }

    static func isSocket(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
    }
}

/// A private 0700 directory under /tmp (a runtime directory for `auto` sockets); removed with its contents.
final class PrivateDirectory {
    let path: String

    init(_ name: String) {
        path = "/tmp/pt-e2e-\(getpid())-\(name)"
        try? FileManager.default.removeItem(atPath: path)
        mkdir(path, 0o700)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
