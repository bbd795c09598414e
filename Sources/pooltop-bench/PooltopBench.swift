import ArgumentParser
import ConnectionManager
import Foundation

/// `pooltop-bench`: the shared benchmark contract (see shared/bench/README.md) run on pooltop's pool.
/// Prints exactly one JSON line on stdout.
@main
struct PooltopBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pooltop-bench",
        abstract: "Measure pooltop's pool with the peer benchmark contract; prints one JSON line.",
        discussion: """
            checkout = borrow a connection and give it back, no query; select1 = borrow, run SELECT 1, read the \
            value, give it back. 1 s warm-up not counted; latency is per whole operation on a monotonic clock. \
            With --prefill on the pool is opened before timing starts; by default (off, the library's default) \
            connections open on demand. The library's defaults otherwise (pre-ping of connections idle > 500 ms, \
            health checks every 60 s on their own connection). --workers tasks runs N concurrent Swift tasks \
            (impl pooltop-tasks) calling the async API instead of N OS threads calling the blocking one.
            """)

    enum Workload: String, ExpressibleByArgument, CaseIterable {
        case checkout, select1
    }

    enum Switch: String, ExpressibleByArgument, CaseIterable {
        case on, off
    }

    enum Workers: String, ExpressibleByArgument, CaseIterable {
        case threads, tasks
    }

    enum TaskExecutorChoice: String, ExpressibleByArgument, CaseIterable {
        case global, manager
    }

    @Option(help: "checkout or select1.") var workload: Workload
    @Option(help: "Concurrent workers: OS threads, or tasks with --workers tasks.") var threads: Int
    @Option(help: "threads (blocking API on OS threads) or tasks (async API on Swift tasks).")
    var workers: Workers = .threads
    @Option(
        help:
            "With --workers tasks: run the tasks on Swift's global executor (global) or prefer the manager's (manager: ConnectionManager.taskExecutor)."
    )
    var executor: TaskExecutorChoice = .global
    @Option(help: "Open pool-size connections before timing (on), or on demand (off, the library default).")
    var prefill: Switch = .off
    @Option(help: "Measured seconds (after a 1 s warm-up).") var duration: Double
    @Option(name: .customLong("pool-size"), help: "Persistent connections.") var poolSize: Int
    @Option(help: "Database URL.") var url = "postgresql://bench@127.0.0.1:55432/bench"
    @Option(name: .customLong("max-overflow"), help: "Temporary connections above the pool size.") var maxOverflow = 0
    @Option(
        name: .customLong("leak-detection"),
        help: "Track checkouts with their stacks (on) or not (off, like HikariCP's default).")
    var leakDetection: Switch = .off
    @Option(help: "Name in the JSON line's impl field (default pooltop, pooltop-tasks with --workers tasks).")
    var impl: String?
    @Option(
        name: .customLong("snapshot-rate"),
        help: "Take this many manager snapshots per second on another thread during the run (what a dashboard costs).")
    var snapshotRate: Double = 0
    @Option(
        name: .customLong("control-pollers"),
        help:
            "Turn the control socket on and poll GET /v1/snapshot from this many clients at 10 Hz each (pooltop attach)."
    )
    var controlPollers = 0

    /// Bad input exits with 2 (not ArgumentParser's 64), like every pooltop command.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Glibc.exit(2)
        }
    }

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads).") }
        guard duration > 0 else { throw ValidationError("--duration must be greater than 0 seconds, got \(duration).") }
        guard poolSize >= 1 else { throw ValidationError("--pool-size must be at least 1, got \(poolSize).") }
        guard snapshotRate >= 0 else {
            throw ValidationError("--snapshot-rate must be at least 0, got \(snapshotRate).")
        }
        guard controlPollers >= 0 else {
            throw ValidationError("--control-pollers must be at least 0, got \(controlPollers).")
        }
        guard maxOverflow >= 0 else { throw ValidationError("--max-overflow must be at least 0, got \(maxOverflow).") }
    }

    func run() throws {
        var config = ConnectionPoolConfig(databaseURL: try DatabaseURL(url, setting: "--url"))
        config.poolSize = poolSize
        config.maxOverflow = maxOverflow
        config.prefill = prefill == .on
        config.leakDetectionEnabled = leakDetection == .on
        config.stackCapture = .always
        config.applicationName = "pooltop-bench"
        if controlPollers > 0 {
            config.controlSocket = .path("/tmp/pooltop-bench.\(getpid()).sock")
        }
        let manager = try ConnectionManager(configuration: config)
        // Prefill failures are events, not errors: make sure the server answers before timing anything.
        try manager.withConnection { connection in _ = try connection.execute("SELECT 1") }

        if snapshotRate > 0 {
            let interval = 1 / snapshotRate
            let observer = Thread {
                while true {
                    _ = manager.snapshot()
                    Thread.sleep(forTimeInterval: interval)
                }
            }
            observer.start()
        }
        if controlPollers > 0, let socket = manager.controlSocketPath {
            ControlPoller.start(socket: socket, clients: controlPollers, rate: 10)
        }
        let result: BenchRunner.Result
        switch workers {
        case .threads: result = runThreads(manager)
        case .tasks: result = runTasks(manager)
        }
        let impl = self.impl ?? (workers == .tasks ? "pooltop-tasks" : "pooltop")
        let seconds = duration
        let line = String(
            format: "{\"impl\":\"%@\",\"workload\":\"%@\",\"threads\":%d,\"pool_size\":%d,\"duration_s\":%@,"
                + "\"ops\":%llu,\"ops_per_sec\":%.1f,\"p50_us\":%.2f,\"p99_us\":%.2f,\"errors\":%llu}",
            impl, workload.rawValue, threads, poolSize, Self.trim(seconds), result.ops, Double(result.ops) / seconds,
            result.histogram.percentile(0.50, count: result.ops) / 1000,
            result.histogram.percentile(0.99, count: result.ops) / 1000, result.errors)
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
        // Like the peers, shutdown is not measured; exit without draining (the control socket is removed at exit).
        Glibc.exit(0)
    }

    /// The blocking API on `threads` OS threads.
    private func runThreads(_ manager: ConnectionManager) -> BenchRunner.Result {
        let runner = BenchRunner(threads: threads, duration: duration)
        switch workload {
        case .checkout:
            return runner.run {
                (try? manager.withConnection { _ in true }) ?? false
            }
        case .select1:
            return runner.run {
                (try? manager.withConnection { connection in
                    let rows = try connection.execute("SELECT 1")
                    let value = try rows[row: 0].int(0)
                    return rows.rowCount == 1 && value == 1
                }) ?? false
            }
        }
    }

    /// The async API on `threads` concurrent tasks.
    private func runTasks(_ manager: ConnectionManager) -> BenchRunner.Result {
        let runner = TaskRunner(
            tasks: threads, duration: duration, executor: executor == .manager ? manager.taskExecutor : nil)
        switch workload {
        case .checkout:
            return runner.run {
                (try? await manager.withConnection { _ async in true }) ?? false
            }
        case .select1:
            return runner.run {
                (try? await manager.withConnection { connection async throws in
                    let rows = try await connection.execute("SELECT 1")
                    let value = try rows[row: 0].int(0)
                    return rows.rowCount == 1 && value == 1
                }) ?? false
            }
        }
    }

    static func trim(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
