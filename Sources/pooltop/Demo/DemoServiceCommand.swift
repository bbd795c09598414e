import ArgumentParser
import ConnectionManager
import Foundation
import Logging
import Synchronization

/// `pooltop demo-service` (hidden, not in `--help`): the demo's **service process**. `pooltop demo` starts the
/// pooltop binary again with this subcommand (`DemoService.start`), so the demo needs no other executable.
///
/// It is an ordinary service embedding `ConnectionManager`, configured from its environment
/// (`ConnectionManager.fromEnvironment`: `DATABASE_URL`, `DATABASE_FAILOVER_URLS`, `DB_*`, among them
/// `DB_CONTROL_SOCKET` and `DB_POOL_NAME=pooltop-demo`), running the demo workload (`DemoWorkload`: bursts,
/// overflow, a deliberate leak every `--leak-every`) and `--load` clients. The dashboard attaches to its control
/// socket exactly as `pooltop attach` does. Service authors copy `Sources/pooltop-example-service`, not this.
///
/// It lives only as long as the pooltop that started it: `PR_SET_PDEATHSIG` sends it SIGTERM when that process
/// dies (a crash, SIGKILL); SIGTERM/SIGINT shut the manager down (which removes the socket) and exit. When it
/// finds itself orphaned it also removes its log and the private directory, which its parent would have removed.
struct DemoServiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-service",
        abstract: "The demo's service process (started by `pooltop demo`; not for direct use).",
        shouldDisplay: false)

    @Option(name: .customLong("parent-pid"), help: "The pooltop that started this process.")
    var parentPID: Int32

    @Option(name: .customLong("directory"), help: "The demo's private directory (socket and log).")
    var directory: String

    @Option(name: .customLong("leak-every"), help: "Time between deliberate leaks.")
    var leakEvery: String = "10s"

    @Option(name: .customLong("load"), help: "Synthetic clients.")
    var load: Int = 0

    @Option(name: .customLong("load-query"), help: "The synthetic clients' statement.")
    var loadQuery: String = "SELECT 1"

    func run() throws {
        // First of all: die with the parent. The parent may have died before the prctl took effect; then
        // getppid() is already someone else (init or a subreaper) and nobody would ever send the signal.
        ParentDeath.terminateWhenParentDies()
        let runtime = DemoServiceRuntime(parentPID: parentPID, directory: directory)
        guard getppid() == parentPID else { runtime.exitOrphaned() }
        let signals = runtime.handleSignals()

        let every = try ConfigurationValue.duration(leakEvery, setting: "--leak-every", within: SettingLimits.leakEvery)
        var logger = Logger(label: "pooltop-demo")
        logger.logLevel = .info
        let manager: ConnectionManager
        do {
            manager = try ConnectionManager.fromEnvironment(logger: logger)
        } catch {
            FileHandle.standardError.write(Data("pooltop demo-service: \(error)\n".utf8))
            runtime.exit(2)
        }
        let workload = DemoWorkload(
            manager: manager, leakEvery: every,
            leakHold: .seconds(Int64(manager.configuration.leakThreshold.components.seconds) + 12))
        let synthetic = SyntheticLoad(manager: manager, clients: load, query: loadQuery)
        runtime.started(manager: manager, workload: workload, load: synthetic)
        FileHandle.standardOutput.write(
            Data(
                ("pooltop demo-service: pid \(getpid()), parent \(parentPID), control socket "
                    + "\(manager.controlSocketPath ?? "off")\n").utf8))
        workload.start()
        do {
            try synthetic.start()
        } catch {
            FileHandle.standardError.write(Data("pooltop demo-service: \(error)\n".utf8))
            runtime.exit(2)
        }
        withExtendedLifetime(signals) { dispatchMain() }
    }
}

/// What the demo service must stop on a signal, and how it leaves.
final class DemoServiceRuntime: Sendable {
    let parentPID: Int32
    let directory: String
    private let running = Mutex<(ConnectionManager, DemoWorkload, SyntheticLoad)?>(nil)

    init(parentPID: Int32, directory: String) {
        self.parentPID = parentPID
        self.directory = directory
    }

    func started(manager: ConnectionManager, workload: DemoWorkload, load: SyntheticLoad) {
        running.withLock { $0 = (manager, workload, load) }
    }

    /// SIGTERM (from pooltop, or from the kernel when pooltop died) and SIGINT: a clean shutdown. Keep the
    /// sources alive for as long as the process runs.
    func handleSignals() -> [any DispatchSourceSignal] {
        [SIGTERM, SIGINT].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .main)
            source.setEventHandler { [self] in self.exit(0) }
            source.resume()
            return source
        }
    }

    /// Stops the clients, shuts the manager down (its socket goes), and exits; cleans up when orphaned.
    func exit(_ code: Int32) -> Never {
        if let (manager, workload, load) = running.withLock({ $0 }) {
            workload.requestStop()
            load.requestStop()
            manager.shutdown()
            workload.stop()
            load.stop()
        }
        if getppid() != parentPID { exitOrphaned(code) }
        Foundation.exit(code)
    }

    /// The parent is gone: nobody else will remove what this process left in the private directory. Removes only
    /// the two files it knows, then the directory if it is empty (never a recursive delete of a path it was given).
    func exitOrphaned(_ code: Int32 = 0) -> Never {
        for name in [DemoService.socketName, DemoService.logName] { unlink(directory + "/" + name) }
        rmdir(directory)
        Foundation.exit(code)
    }
}

/// `prctl(PR_SET_PDEATHSIG, SIGTERM)`. `prctl` is variadic, so Swift does not import it; it is called through
/// `dlsym` with the integer arguments spelled out (the way CommandRunner reaches glibc's `_np` spawn helpers).
enum ParentDeath {
    private typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
    private static let prSetPdeathsig: Int32 = 1

    /// The kernel sends SIGTERM to this process when the thread that started it exits. Linux only; elsewhere a
    /// no-op (the service would outlive a crashed pooltop there).
    static func terminateWhenParentDies() {
        guard let symbol = dlsym(nil, "prctl") else { return }
        let prctl = unsafeBitCast(symbol, to: Prctl.self)
        _ = prctl(prSetPdeathsig, UInt(SIGTERM), 0, 0, 0)
    }
}
