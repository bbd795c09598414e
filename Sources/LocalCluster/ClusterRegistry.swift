import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Every running cluster of this process, stopped by an `atexit` handler; plus the watchdog for crashes.
final class ClusterRegistry: Sendable {
    static let shared = ClusterRegistry()

    private let clusters = Mutex<[ObjectIdentifier: LocalCluster]>([:])

    private init() {
        atexit { ClusterRegistry.shared.stopAll() }
    }

    func register(_ cluster: LocalCluster) {
        clusters.withLock { $0[ObjectIdentifier(cluster)] = cluster }
    }

    func unregister(_ cluster: LocalCluster) {
        _ = clusters.withLock { $0.removeValue(forKey: ObjectIdentifier(cluster)) }
    }

    func stopAll() {
        // Taken out of the lock first: `stop()` unregisters, which takes the lock again.
        let running = clusters.withLock { Array($0.values) }
        for cluster in running { cluster.stop() }
    }

    /// Spawns a detached shell that removes `directory` once this process is gone (crash, SIGKILL, exit).
    ///
    /// It polls once a second and exits by itself when `directory` disappears (normal `stop()`). For each data
    /// directory it resumes paused processes, stops the server immediately, then deletes everything.
    static func startWatchdog(directory: String, runner: CommandRunner) {
        let stopServer = runner.serverUser.wrap([runner.binaries.path("pg_ctl")])
            .map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let script = """
            while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done
            [ -d "$2" ] || exit 0
            for data in "$2"/*/; do
              if [ -f "$data/postmaster.pid" ]; then
                pid=$(head -n 1 "$data/postmaster.pid")
                kill -CONT "$pid" 2>/dev/null; pkill -CONT -P "$pid" 2>/dev/null
                \(stopServer) -D "$data" -m immediate -w -t 30 stop || kill -KILL "$pid" 2>/dev/null
              fi
            done
            rm -rf "$2"
            """
        // setsid -f: its own session, so a Ctrl-C or a signal to the test's process group does not reach it.
        let setsid = ["/usr/bin/setsid", "/bin/setsid"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let arguments = ["pooltop-watchdog", String(getpid()), directory]
        let command =
            setsid.map { [$0, "-f", "/bin/sh", "-c", script] + arguments }
            ?? ["/bin/sh", "-c", "/bin/sh -c '\(script.replacingOccurrences(of: "'", with: "'\\''"))' \"$0\" \"$@\" &"]
            + arguments
        _ = try? CommandRunner.execute(command, timeout: .seconds(10))
    }
}
