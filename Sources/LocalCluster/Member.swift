import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One PostgreSQL server of a `LocalCluster`: the primary or its streaming standby.
///
/// All methods may be called from any thread. Server-side programs run as the server user (see `LocalCluster`).
public final class Member: Sendable {
    /// How the server reacted to `ping(timeout:)`.
    public enum Reachability: Sendable, Equatable {
        /// The postmaster answered.
        case responding
        /// Nothing listens on the port (killed or stopped).
        case refusing
        /// The port accepted the connection but nobody answered before the deadline (paused).
        case notResponding
    }

    /// "primary" or "standby"; also the name of the data directory and log file inside the cluster directory.
    public let name: String
    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// The server's data directory (`PGDATA`).
    public let dataDirectory: String
    /// The directory of the server's private unix socket (the cluster directory).
    public let socketDirectory: String
    /// The server log (`pg_ctl -l`).
    public let logFile: String

    private let runner: CommandRunner
    /// Processes stopped by `pause()`, resumed by `resume()`; empty when running.
    private let pausedProcesses = Mutex<[Int32]>([])

    init(name: String, port: Int, clusterDirectory: String, runner: CommandRunner) {
        self.name = name
        self.port = port
        self.dataDirectory = clusterDirectory + "/" + name
        self.socketDirectory = clusterDirectory
        self.logFile = clusterDirectory + "/" + name + ".log"
        self.runner = runner
    }

    /// `postgresql://postgres@127.0.0.1:PORT/postgres` — the trusted superuser over TCP.
    public var url: String { url(user: "postgres", password: nil) }

    /// A URL for `user` (and `password`, if any) over TCP; user, password and database are percent-encoded.
    public func url(user: String, password: String?, database: String = "postgres") -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        func encode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text }
        let credentials = password.map { encode(user) + ":" + encode($0) } ?? encode(user)
        return "postgresql://\(credentials)@127.0.0.1:\(port)/\(encode(database))"
    }

    /// The postmaster's process id from `postmaster.pid`, or nil when the file is missing.
    public var postmasterPID: Int32? {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8) else {
            return nil
        }
        return text.split(separator: "\n").first.flatMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// Whether `pause()` stopped the server and `resume()` has not yet continued it.
    public var isPaused: Bool { pausedProcesses.withLock { !$0.isEmpty } }

    /// Probes the TCP port with a millisecond deadline (no libpq, no 2-second connect_timeout floor).
    public func ping(timeout: Duration = .milliseconds(500)) -> Reachability {
        Loopback.probe(port: port, timeout: timeout)
    }

    /// Runs `sql` with `psql -X -A -t -v ON_ERROR_STOP=1` as `postgres` over the private unix socket.
    ///
    /// - Returns: the output without its final newline; rows are lines, columns are separated by `|`.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres", timeout: Duration = .seconds(30))
        throws(LocalClusterError) -> String
    {
        let output = try runner.runClientProgram(
            "psql",
            [
                "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", socketDirectory, "-p", String(port),
                "-U", "postgres", "-d", database, "-c", sql,
            ],
            timeout: timeout)
        return output.hasSuffix("\n") ? String(output.dropLast()) : output
    }

    /// Whether the server is a standby (`pg_is_in_recovery()`).
    public func isInRecovery() throws(LocalClusterError) -> Bool {
        try psql("SELECT pg_is_in_recovery()") == "t"
    }

    /// SIGKILLs the postmaster and its children, like a crash, then waits until the port refuses connections.
    ///
    /// Children are killed too so that existing connections break at once and `restart()` finds no process still
    /// attached to the old shared memory. A paused server is killed as well (SIGKILL works on stopped processes).
    /// As after a real crash with `synchronous_commit=off`, commits of the last ~200 ms may be lost.
    public func kill9() throws(LocalClusterError) {
        pausedProcesses.withLock { $0.removeAll() }
        guard let postmaster = postmasterPID, ProcessTable.isAlive(postmaster) else { return }
        // Stopped first, so that it forks nothing more, and its children listed before it dies: once it is dead they
        // belong to init and would be missed, and a backend that outlives it by a moment still answers queries.
        kill(postmaster, SIGSTOP)
        let children = ProcessTable.children(of: postmaster)
        kill(postmaster, SIGKILL)
        for child in children { kill(child, SIGKILL) }
        try waitUntil("\(name) (postmaster \(postmaster)) to die", timeout: .seconds(10)) { () -> Bool in
            !([postmaster] + children).contains(where: ProcessTable.isAlive) && ping() == .refusing
        }
    }

    /// SIGSTOPs the postmaster and all its children, so that new connects and queries on existing connections hang.
    ///
    /// Returns once every process is stopped. Idempotent.
    public func pause() throws(LocalClusterError) {
        guard let postmaster = postmasterPID, ProcessTable.isAlive(postmaster) else {
            throw .commandFailed(command: "pause \(name)", exitCode: -1, output: "the server is not running")
        }
        let stopped = pausedProcesses.withLock { paused -> [Int32] in
            guard paused.isEmpty else { return paused }
            // The postmaster first, so that it forks no new backend after the children were listed.
            kill(postmaster, SIGSTOP)
            let children = ProcessTable.children(of: postmaster)
            for child in children { kill(child, SIGSTOP) }
            paused = [postmaster] + children
            return paused
        }
        try waitUntil("\(name) to stop (SIGSTOP)", timeout: .seconds(10)) { () -> Bool in
            stopped.allSatisfy { [nil, "T", "Z"].contains(ProcessTable.state(of: $0)) }
        }
    }

    /// SIGSTOPs only the postmaster: established connections keep answering, new connections hang (a frozen
    /// postmaster, as an overloaded or wedged server looks from outside). `resume()` undoes it. Idempotent.
    public func pausePostmaster() throws(LocalClusterError) {
        guard let postmaster = postmasterPID, ProcessTable.isAlive(postmaster) else {
            throw .commandFailed(command: "pause \(name)", exitCode: -1, output: "the server is not running")
        }
        let stopped = pausedProcesses.withLock { paused -> Bool in
            guard paused.isEmpty else { return false }
            kill(postmaster, SIGSTOP)
            paused = [postmaster]
            return true
        }
        guard stopped else { return }
        try waitUntil("\(name)'s postmaster to stop (SIGSTOP)", timeout: .seconds(10)) { () -> Bool in
            [nil, "T", "Z"].contains(ProcessTable.state(of: postmaster))
        }
    }

    /// SIGCONTs everything `pause()` stopped. Does nothing when the server is not paused.
    public func resume() {
        pausedProcesses.withLock { paused in
            guard let postmaster = paused.first else { return }
            // Children forked in the instant before the postmaster stopped are caught by the second listing.
            for child in Set(paused.dropFirst() + ProcessTable.children(of: postmaster)) { kill(child, SIGCONT) }
            kill(postmaster, SIGCONT)
            paused.removeAll()
        }
    }

    /// Stops the server if it runs (`pg_ctl stop -m fast`) and starts it again on the same port.
    ///
    /// Works after `kill9()` and while paused (it resumes first).
    public func restart() throws(LocalClusterError) {
        resume()
        if let postmaster = postmasterPID, ProcessTable.isAlive(postmaster) {
            try runner.runServerProgram("pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"])
        }
        try start()
    }

    /// Promotes a standby (`pg_ctl promote`) and waits until `pg_is_in_recovery()` is false.
    public func promote() throws(LocalClusterError) {
        try runner.runServerProgram("pg_ctl", ["-D", dataDirectory, "-w", "-t", "60", "promote"])
        try waitUntil("\(name) to leave recovery after promote") { () throws(LocalClusterError) -> Bool in
            try !isInRecovery()
        }
    }

    /// Starts the server with `pg_ctl start -w`, then confirms with `pg_isready` that it accepts connections.
    func start() throws(LocalClusterError) {
        // After kill9 the old postmaster may linger as a zombie until init reaps it; PostgreSQL's lock-file checks
        // (kill(pid, 0)) count a zombie as running, so remove the stale lock files of a dead postmaster ourselves.
        if let stale = postmasterPID, !ProcessTable.isAlive(stale) {
            let socket = socketDirectory + "/.s.PGSQL.\(port)"
            for path in [dataDirectory + "/postmaster.pid", socket + ".lock", socket] {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        do {
            try runner.runServerProgram(
                "pg_ctl", ["-D", dataDirectory, "-l", logFile, "-o", "-p \(port)", "-w", "-t", "60", "start"])
        } catch .commandFailed(let command, let exitCode, let output) {
            // pg_ctl only says "Examine the log output"; the reason is in the log.
            let log = ((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "").split(separator: "\n")
            let tail = log.suffix(8).joined(separator: "\n")
            throw .commandFailed(command: command, exitCode: exitCode, output: output + "\n\(logFile):\n" + tail)
        }
        try waitUntil("\(name) on port \(port) to accept connections") { () -> Bool in
            let status = try? CommandRunner.execute(
                [
                    runner.binaries.path("pg_isready"), "-q", "-h", socketDirectory, "-p", String(port), "-U",
                    "postgres",
                    "-d", "postgres", "-t", "2",
                ],
                timeout: .seconds(5))
            return status?.exitCode == 0
        }
    }

    /// Immediate shutdown for `LocalCluster.stop()`: resume, `pg_ctl stop -m immediate`, SIGKILL if that failed.
    func shutDown() {
        resume()
        guard let postmaster = postmasterPID, ProcessTable.isAlive(postmaster) else { return }
        _ = try? runner.runServerProgram("pg_ctl", ["-D", dataDirectory, "-m", "immediate", "-w", "-t", "30", "stop"])
        if ProcessTable.isAlive(postmaster) { try? kill9() }
    }

    /// Whether the server log says the port was taken, so starting on another port may succeed.
    var logShowsPortInUse: Bool {
        ((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "").contains("Address already in use")
    }
}
