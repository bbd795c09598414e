import ConnectionManager
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Why the demo service could not be started.
struct DemoServiceError: Error, CustomStringConvertible {
    var description: String
}

/// The demo's service process, seen from pooltop: started, watched, restarted once after a crash, stopped.
///
/// The process is this same binary run as `pooltop demo-service` (DemoServiceCommand.swift), found through
/// `/proc/self/exe`, so `swift run pooltop` needs no other product. It gets
///
/// - a private directory `/tmp/pooltop-demo-XXXXXX` (0700) holding its control socket (`control.sock`) and its log
///   (`service.log`, stdout and stderr: never the terminal, which the dashboard owns);
/// - a minimal environment: `PATH`, `LANG`/`LC_ALL=C`, `TZ` and `SWIFT_BACKTRACE` when set, and the `DATABASE_URL`,
///   `DATABASE_FAILOVER_URLS` and `DB_*` settings of the demo (never the caller's whole environment);
/// - a process group of its own (a Ctrl-C on the terminal reaches pooltop only; pooltop decides the order of
///   shutdown), an empty signal mask and default dispositions;
/// - `PR_SET_PDEATHSIG` (set by the child itself at start), so a crash of pooltop stops it.
///
/// The kernel sends the parent-death signal when the **thread** that started the child exits, not the process:
/// the first child is started on the main thread, a restarted one on the supervisor thread, which then waits in
/// `waitpid` for as long as that child lives (a plain `Thread`, never a Dispatch worker that may retire).
///
/// After a crash (any exit that `stop()` did not ask for) the service is restarted **once**, 2 s later, so the
/// dashboard shows STALE and "disconnected" meanwhile; `note` says what happened for the dashboard's hint line.
/// A second crash is not restarted: the note says so and names the log. `stop()` and `atexit` end it and remove
/// the socket, the log and the directory.
final class DemoService: Sendable {
    static let socketName = "control.sock"
    static let logName = "service.log"
    static let poolName = "pooltop-demo"
    /// Crashes after which the service is started again.
    static let restartLimit = 1
    static let restartDelay: Duration = .seconds(2)

    let directory: String
    var socketPath: String { directory + "/" + Self.socketName }
    var logPath: String { directory + "/" + Self.logName }

    private let executable: String
    private let arguments: [String]
    private let environment: [String: String]
    private let state = Mutex(State())

    private struct State {
        /// The running child; 0 when none is running (reaped, or not restarted).
        var pid: pid_t = 0
        var isStopping = false
        var isSupervised = false
        var restarts = 0
        /// What happened to the service, for the dashboard while it does not answer.
        var note: String?
        /// One line per unexpected exit, printed after the dashboard ends.
        var crashes: [String] = []
    }

    private init(directory: String, executable: String, arguments: [String], environment: [String: String]) {
        self.directory = directory
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
    }

    /// The running service's pid (0 when none runs).
    var pid: pid_t { state.withLock { $0.pid } }

    /// What happened to the service when it crashed (shown while the dashboard cannot reach it), else nil.
    var note: String? { state.withLock { $0.note } }

    /// The unexpected exits, one sentence each (empty when the service never crashed).
    var crashes: [String] { state.withLock { $0.crashes } }

    /// Creates the private directory, starts `pooltop demo-service` there and waits (up to `deadline`) until its
    /// control socket answers `GET /v1/info`; then supervises it. On failure nothing runs any more, and the log is
    /// kept (the error names it and quotes its end).
    ///
    /// - Parameters:
    ///   - serviceArguments: the subcommand's own options (`--leak-every`, `--load`…).
    ///   - settings: `DATABASE_URL`, `DATABASE_FAILOVER_URLS` and the `DB_*` settings; `DB_CONTROL_SOCKET` and
    ///     `DB_POOL_NAME` are set here.
    static func start(
        serviceArguments: [String], settings: [String: String], caller: [String: String],
        deadline: Duration = .seconds(30)
    ) throws(DemoServiceError) -> DemoService {
        let directory = try makePrivateDirectory()
        let executable = selfExecutable()
        var environment = Self.childEnvironment(caller: caller)
        environment.merge(settings) { _, new in new }
        environment["DB_CONTROL_SOCKET"] = directory + "/" + socketName
        environment["DB_POOL_NAME"] = poolName
        let arguments =
            [executable.shown, "demo-service", "--parent-pid", String(getpid()), "--directory", directory]
            + serviceArguments
        let service = DemoService(
            directory: directory, executable: executable.path, arguments: arguments, environment: environment)
        Registry.shared.add(service)
        do throws(DemoServiceError) {
            let pid = try service.spawn()
            service.state.withLock { $0.pid = pid }
            try service.waitUntilAnswering(pid: pid, deadline: deadline)
        } catch {
            service.stop(keepingLog: true)
            throw error
        }
        service.state.withLock { $0.isSupervised = true }
        let supervisor = Thread { service.supervise() }
        supervisor.name = "demo-supervisor"
        supervisor.start()
        return service
    }

    /// Ends the service (SIGTERM, then SIGKILL after 5 s), removes its socket, log and directory. Idempotent;
    /// called by the dashboard's exit, by `atexit`, and after a failed start (`keepingLog`).
    func stop(keepingLog: Bool = false) {
        let (pid, supervised) = state.withLock { s in
            let wasStopping = s.isStopping
            s.isStopping = true
            return wasStopping ? (-1, s.isSupervised) : (s.pid, s.isSupervised)
        }
        guard pid >= 0 else { return }
        if pid > 0 {
            kill(pid, SIGTERM)
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(5)
            while !hasExited(pid, supervised: supervised), clock.now < deadline { usleep(10_000) }
            if !hasExited(pid, supervised: supervised) {
                kill(pid, SIGKILL)
                while !hasExited(pid, supervised: supervised), clock.now < deadline + .seconds(5) { usleep(10_000) }
            }
        }
        // The manager removes its socket on shutdown; a killed one leaves it.
        unlink(socketPath)
        if !keepingLog {
            unlink(logPath)
            rmdir(directory)
        }
        Registry.shared.remove(self)
    }

    /// The last `lines` lines of the service's log.
    func logTail(_ lines: Int = 15) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines + 1)
            .joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: - Starting

    private func spawn() throws(DemoServiceError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of pooltop's (the terminal, the cluster's files, curses) reaches the service.
        if let closeFrom = SpawnExtras.closeFrom { _ = closeFrom(&actions, 3) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGTERM, SIGINT, SIGPIPE, SIGWINCH, SIGHUP, SIGCHLD] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw DemoServiceError(
                description: "cannot start the demo service (\(executable)): \(String(cString: strerror(result)))")
        }
        return pid
    }

    private func waitUntilAnswering(pid: pid_t, deadline: Duration) throws(DemoServiceError) {
        let client = ControlClient(socketPath: socketPath, timeout: .seconds(1))
        let clock = ContinuousClock()
        let end = clock.now + deadline
        var lastError = "no answer yet"
        while clock.now < end {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                state.withLock { $0.pid = 0 }
                throw failure("(pid \(pid)) \(Self.describe(status: status)) before its control socket answered")
            }
            do throws(ControlClientError) {
                let info = try client.info()
                if info.pid == pid { return }
                lastError = "\(socketPath) is served by pid \(info.pid), not \(pid)"
            } catch {
                lastError = error.summary
            }
            usleep(50_000)
        }
        throw failure("did not answer on \(socketPath) within \(deadline) (\(lastError))")
    }

    private func failure(_ what: String) -> DemoServiceError {
        let tail = logTail()
        return DemoServiceError(
            description: "the demo service \(what); its log is kept at \(logPath)"
                + (tail.isEmpty ? " (empty)" : ":\n" + tail))
    }

    // MARK: - Supervising

    /// Reaps the child; after an exit nobody asked for, restarts it once (see the type's comment).
    private func supervise() {
        while true {
            let pid = state.withLock { $0.pid }
            guard pid > 0 else { return }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let restart: Bool = state.withLock { s in
                s.pid = 0
                guard !s.isStopping else { return false }
                let how = "the demo service (pid \(pid)) \(Self.describe(status: status))"
                s.crashes.append(how)
                if s.restarts < Self.restartLimit {
                    s.restarts += 1
                    s.note = "\(how); pooltop restarts it in \(Self.restartDelay.components.seconds) s"
                    return true
                }
                s.note = "\(how) again; not restarted (once only), log: \(logPath); q quits"
                return false
            }
            guard restart else { return }
            let clock = ContinuousClock()
            let end = clock.now + Self.restartDelay
            while clock.now < end, !state.withLock({ $0.isStopping }) { usleep(20_000) }
            // Spawned under the lock, so that `stop()` either sees the new pid or stops it from starting.
            let outcome: Result<pid_t, DemoServiceError>? = state.withLock { s in
                guard !s.isStopping else { return nil }
                let result = Result { () throws(DemoServiceError) in try spawn() }
                if case .success(let new) = result {
                    s.pid = new
                    let crash = s.crashes.removeLast() + "; restarted as pid \(new)"
                    s.crashes.append(crash)
                    s.note = crash
                }
                return result
            }
            if case .failure(let error) = outcome {
                state.withLock { $0.note = "\(error.description); log: \(logPath); q quits" }
                return
            }
        }
    }

    /// True once `pid` has ended: reaped by the supervisor, or (before it runs) by this call.
    private func hasExited(_ pid: pid_t, supervised: Bool) -> Bool {
        if supervised { return state.withLock { $0.pid != pid } }
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == pid || (reaped < 0 && errno == ECHILD) {
            state.withLock { if $0.pid == pid { $0.pid = 0 } }
            return true
        }
        return false
    }

    /// "exited with status 3", "was killed by SIGKILL".
    static func describe(status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exited with status \((status >> 8) & 0xff)" }
        let names: [Int32: String] = [
            SIGKILL: "SIGKILL", SIGTERM: "SIGTERM", SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGILL: "SIGILL",
            SIGTRAP: "SIGTRAP", SIGBUS: "SIGBUS", SIGINT: "SIGINT", SIGHUP: "SIGHUP",
        ]
        return "was killed by \(names[signal] ?? "signal \(signal)")"
    }

    // MARK: - Process facts

    /// `/tmp/pooltop-demo-XXXXXX`, 0700 (mkdtemp), owned by this user. Short, for the 107-byte socket limit.
    private static func makePrivateDirectory() throws(DemoServiceError) -> String {
        var template = Array("/tmp/pooltop-demo-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else {
            throw DemoServiceError(
                description: "cannot create the demo's private directory in /tmp: \(String(cString: strerror(errno)))"
            )
        }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// The path to exec (`/proc/self/exe` works even when the file was replaced since) and the one to show in
    /// `ps` (the resolved path, else `argv[0]`).
    private static func selfExecutable() -> (path: String, shown: String) {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if count > 0 {
            let resolved = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return ("/proc/self/exe", resolved.hasSuffix(" (deleted)") ? CommandLine.arguments[0] : resolved)
        }
        let own = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        return (own, own)
    }

    /// The service's environment before the demo's settings: only what it needs (as LocalCluster's
    /// `CommandRunner.childEnvironment` does for the servers). A password in the caller's `DATABASE_URL` or
    /// `PGPASSWORD`, or a `PGHOST` that would redirect libpq, never reaches it.
    static func childEnvironment(caller: [String: String]) -> [String: String] {
        var env = ["PATH": caller["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C", "LC_ALL": "C"]
        for name in ["TZ", "SWIFT_BACKTRACE"] { env[name] = caller[name] }
        return env
    }

    /// Every demo service of this process, stopped at `exit()` (the dashboard's exit calls `stop()` first).
    private final class Registry: Sendable {
        static let shared = Registry()
        private let services = Mutex<[ObjectIdentifier: DemoService]>([:])

        private init() { atexit { Registry.shared.stopAll() } }

        func add(_ service: DemoService) { services.withLock { $0[ObjectIdentifier(service)] = service } }
        func remove(_ service: DemoService) {
            _ = services.withLock { $0.removeValue(forKey: ObjectIdentifier(service)) }
        }
        func stopAll() {
            for service in services.withLock({ Array($0.values) }) { service.stop() }
        }
    }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift's Glibc module does not export.
private enum SpawnExtras {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    static let closeFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: CloseFrom.self) }
}
