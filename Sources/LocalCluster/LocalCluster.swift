import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PostgreSQL primary, and optionally a streaming standby, for tests and `pooltop demo`.
///
/// Everything lives in one temporary directory (`directory`): the data directories `primary/` and `standby/`,
/// their logs and the private unix sockets. Servers listen on 127.0.0.1 on free ports; the `postgres` role is
/// trusted. When this process is root the servers run as the `postgres` system user (initdb refuses root).
///
/// A cluster is removed by `stop()`, at process exit (`atexit`), and — if the process crashes or is killed — by a
/// detached watchdog shell within about a second. All methods are thread-safe.
public final class LocalCluster: Sendable {
    /// The temporary directory holding everything; deleted by `stop()`.
    public let directory: String
    /// The read-write server.
    public let primary: Member
    /// A hot standby streaming from `primary`, when `Options.withStandby` was set.
    public let standby: Member?

    private let isStopped = Mutex(false)

    private init(directory: String, primary: Member, standby: Member?) {
        self.directory = directory
        self.primary = primary
        self.standby = standby
    }

    /// Creates, starts and waits for a new cluster (about 0.5–1 s, plus about 0.5 s for a standby).
    ///
    /// - Throws: `binariesMissing` when PostgreSQL is not installed; `commandFailed` or `timedOut` when a server
    ///   does not come up (nothing is left behind then).
    public static func start(_ options: Options = .init()) throws(LocalClusterError) -> LocalCluster {
        let runner = CommandRunner(binaries: try PostgresBinaries.locate(), serverUser: try .forCurrentProcess())
        let directory = try makeClusterDirectory(owner: runner.serverUser)
        ClusterRegistry.startWatchdog(directory: directory, runner: runner)
        var started: [Member] = []
        do {
            try runner.runServerProgram(
                "initdb",
                [
                    "-D", directory + "/primary", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C",
                    "--no-sync",
                ])
            try configure(dataDirectory: directory + "/primary", socketDirectory: directory, options: options)
            let primary = try startMember("primary", in: directory, runner: runner)
            started.append(primary)
            if let user = options.passwordUser {
                let role = quoteIdentifier(user.name)
                try primary.psql("CREATE ROLE \(role) LOGIN PASSWORD \(quoteLiteral(user.password))")
            }
            var standby: Member?
            if options.withStandby {
                try runner.runServerProgram(
                    "pg_basebackup",
                    [
                        "-D", directory + "/standby", "-h", directory, "-p", String(primary.port), "-U", "postgres",
                        "-R", "-X", "stream", "-c", "fast",
                    ])
                standby = try startMember("standby", in: directory, runner: runner)
                started.append(standby!)
            }
            let cluster = LocalCluster(directory: directory, primary: primary, standby: standby)
            ClusterRegistry.shared.register(cluster)
            return cluster
        } catch {
            for member in started.reversed() { member.shutDown() }
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// One primary-only cluster shared by every caller in this process: started on first use, stopped at exit.
    ///
    /// Concurrent first calls start exactly one cluster. A failed start is remembered and rethrown to every caller.
    /// Do not `stop()`, kill or pause it; start a private cluster for that.
    public static func shared() throws(LocalClusterError) -> LocalCluster {
        sharedLock.lock()
        defer { sharedLock.unlock() }
        if sharedCluster == nil {
            do throws(LocalClusterError) {
                sharedCluster = .success(try start())
            } catch {
                sharedCluster = .failure(error)
            }
        }
        return try sharedCluster!.get()
    }

    // A pthread-backed NSLock, not Synchronization.Mutex: the thread sanitizer does not see Mutex's futex on Linux
    // and reported every concurrent first call as a race (the task-path tests run under TSan in CI).
    private static let sharedLock = NSLock()
    // Safety: read and written only while `sharedLock` is held (in `shared()`).
    nonisolated(unsafe) private static var sharedCluster: Result<LocalCluster, LocalClusterError>?

    /// Stops every member (`pg_ctl stop -m immediate`, resuming paused ones first) and deletes `directory`.
    ///
    /// Idempotent; safe to call from `defer` in a failing test.
    public func stop() {
        let wasStopped = isStopped.withLock { stopped in
            defer { stopped = true }
            return stopped
        }
        guard !wasStopped else { return }
        standby?.shutDown()
        primary.shutDown()
        try? FileManager.default.removeItem(atPath: directory)
        ClusterRegistry.shared.unregister(self)
    }

    /// Starts a member on a free port, retrying on a new port when another process took it in between.
    private static func startMember(_ name: String, in directory: String, runner: CommandRunner)
        throws(LocalClusterError) -> Member
    {
        var attempt = 1
        while true {
            let member = Member(
                name: name, port: try Loopback.freePort(), clusterDirectory: directory,
                runner: runner)
            do {
                try member.start()
                return member
            } catch {
                guard attempt < 5, member.logShowsPortInUse else { throw error }
                attempt += 1
            }
        }
    }

    /// Appends the fast settings and the caller's to postgresql.conf, and the password rule to pg_hba.conf.
    ///
    /// Settings go into the file rather than onto the command line so that values need no shell quoting and the
    /// standby inherits them through pg_basebackup. Only the port is passed per member (`pg_ctl -o "-p PORT"`).
    private static func configure(dataDirectory: String, socketDirectory: String, options: Options)
        throws(LocalClusterError)
    {
        var settings: [(String, String)] = [
            ("fsync", "off"), ("synchronous_commit", "off"), ("full_page_writes", "off"),
            ("listen_addresses", "127.0.0.1"), ("unix_socket_directories", socketDirectory),
            ("max_connections", "200"), ("wal_level", "replica"), ("max_wal_senders", "10"), ("hot_standby", "on"),
        ]
        settings += options.settings.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let text = "\n# pooltop LocalCluster\n" + settings.map { "\($0) = \(quoteLiteral($1))\n" }.joined()
        try append(text, to: dataDirectory + "/postgresql.conf")

        if let user = options.passwordUser {
            let path = dataDirectory + "/pg_hba.conf"
            let existing: String
            do { existing = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw .fileSystem("cannot read \(path): \(error)")
            }
            // First match wins in pg_hba.conf, so this line must precede initdb's trust lines.
            let rule = "host all \(quoteIdentifier(user.name)) 127.0.0.1/32 scram-sha-256\n"
            try write(rule + existing, to: path)
        }
    }

    /// Creates `pooltop-XXXXXX` under TMPDIR (or /tmp), owned by the server user.
    private static func makeClusterDirectory(owner: ServerUser) throws(LocalClusterError) -> String {
        var base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        // The postgres user must traverse every parent, and unix socket paths are limited to 107 bytes.
        if case .postgres = owner { base = "/tmp" }
        if base.utf8.count > 60 { base = "/tmp" }
        var template = Array((base + "/pooltop-XXXXXX").utf8CString)
        guard mkdtemp(&template) != nil else {
            throw .fileSystem("mkdtemp in \(base) failed: \(String(cString: strerror(errno)))")
        }
        let directory = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        if case .postgres(let uid, let gid, _) = owner, chown(directory, uid, gid) != 0 {
            throw .fileSystem("chown postgres \(directory) failed: \(String(cString: strerror(errno)))")
        }
        return directory
    }

    private static func append(_ text: String, to path: String) throws(LocalClusterError) {
        guard let handle = FileHandle(forWritingAtPath: path) else { throw .fileSystem("cannot open \(path)") }
        defer { try? handle.close() }
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(text.utf8))
        } catch {
            throw .fileSystem("cannot write \(path): \(error)")
        }
    }

    /// Overwrites in place (not atomically), so the file keeps its owner.
    private static func write(_ text: String, to path: String) throws(LocalClusterError) {
        guard let handle = FileHandle(forWritingAtPath: path) else { throw .fileSystem("cannot open \(path)") }
        defer { try? handle.close() }
        do {
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: Data(text.utf8))
        } catch {
            throw .fileSystem("cannot write \(path): \(error)")
        }
    }
}

/// `"name"` with embedded quotes doubled: an SQL (and pg_hba.conf) identifier.
func quoteIdentifier(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

/// `'text'` with embedded quotes doubled: an SQL (and postgresql.conf) string literal.
func quoteLiteral(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
