import ConnectionManager
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEndTests {
    /// `pooltop attach`, `ls`, `ctl`, `status --socket` against a real service process (`pooltop-example-service`
    /// on a throwaway PostgreSQL) through its real control socket.
    @Suite("attach")
    struct AttachTests {
        static func pooltop(_ arguments: [String], environment: [String: String] = [:]) throws -> Subprocess.Result {
            try Subprocess.run(
                [try PooltopBinary.path()] + arguments,
                environment: ["SWIFT_BACKTRACE": "interactive=no"].merging(environment) { _, new in new },
                removing: ["DATABASE_URL", "DATABASE_FAILOVER_URLS", "POOLTOP_ATTACH"], timeout: .seconds(60))
        }

        @Test(
            "panels show the service's pool, Enter its leak's file:line; s, e, x, f act in it", .timeLimit(.minutes(3)))
        func attachedDashboard() throws {
            let cluster = try SharedCluster.get()
            let runtime = PrivateDirectory("attach")
            let socket = "\(runtime.path)/orders.sock"
            let service = try ExampleService(
                databaseURL: cluster.primary.url, socket: socket, poolName: "e2e-orders", runtimeDirectory: runtime.path
            )
            defer { service.stop() }
            let client = ControlClient(socketPath: socket, timeout: .seconds(5))

            let pane = try TmuxPane(
                width: 140, height: 40,
                command: [try PooltopBinary.path(), "attach", socket, "--refresh", "250ms"])
            defer { pane.kill() }
            let screen = try pane.waitFor("the service's header and its leak") { screen in
                screen.contains("pooltop-example-service pid \(service.pid) pool e2e-orders")
                    && screen.contains("Leaks 1")
            }
            // The numbers are the service's, not a pool of pooltop's own.
            let status = try client.status()
            let leak = try #require(status.status.leakDetection.leaks.first, "the service reports its leak")
            #expect(screen.contains("#\(leak.connectionID)"), "\(screen)")
            #expect(screen.contains("/\(status.status.poolMetrics.size) "), "the gauge shows the service's pool size")
            #expect(screen.contains(hostPort(cluster.primary)))
            #expect(screen.contains(status.isHealthy ? "✓ healthy" : "UNHEALTHY"))
            #expect(!screen.contains("pooltop's own probe"))

            try pane.send("Enter")
            let stack = try pane.waitFor("the checkout stack symbolicated in the service", timeout: .seconds(15)) {
                $0.contains("startReportJob") && $0.contains("main.swift:")
            }
            #expect(stack.contains("pooltop-example-service/main.swift:"), "\(stack)")
            try pane.send("Escape")
            try pane.waitFor("the detail view to close", timeout: .seconds(10)) { !$0.contains("Esc back") }

            // s, y: suspended in the service.
            try pane.send("s")
            try pane.waitFor("y yes", timeout: .seconds(10))
            try pane.send("y")
            try pane.waitFor("SUSPENDED", timeout: .seconds(10))
            #expect(try client.snapshot().snapshot.metrics.isSuspended)
            #expect(try client.snapshot().snapshot.events.contains { $0.message.contains("suspended by uid") })
            try pane.send("s")
            try pane.waitFor("y yes", timeout: .seconds(10))
            try pane.send("y")
            try pane.waitFor("the pool to resume", timeout: .seconds(10)) { !$0.contains("SUSPENDED") }
            #expect(try !client.snapshot().snapshot.metrics.isSuspended)

            // e: evicted in the service.
            try pane.send("e")
            #expect(eventually { (try? client.snapshot().snapshot.events.contains { $0.kind == .evicted }) == true })

            // x, y on the leak: the service ends that connection.
            try pane.send("x")
            try pane.waitFor("y yes", timeout: .seconds(10))
            try pane.send("y")
            #expect(
                eventually(timeout: .seconds(15)) {
                    (try? client.snapshot().snapshot.events.contains { $0.kind == .leakTerminated }) == true
                })
            try pane.waitFor("Leaks 0", timeout: .seconds(15))

            // f, Enter, y: the service's answer is on screen (one target: it has nowhere else to go).
            try pane.send("f")
            try pane.waitFor("Fail over to…", timeout: .seconds(10))
            try pane.send("Enter")
            try pane.waitFor("y yes", timeout: .seconds(10))
            try pane.send("y")
            #expect(
                eventually(timeout: .seconds(15)) {
                    (try? client.snapshot().snapshot.events.contains {
                        $0.message.contains("failover") && $0.message.contains("requested by uid")
                    }) == true
                })
            try pane.waitFor("the service's outcome", timeout: .seconds(15)) { !$0.contains("Working…") }
        }

        @Test(
            "kill the service: STALE, disconnected, retrying; restart it: found again on its new socket",
            .timeLimit(.minutes(3)))
        func staleAndRecovered() throws {
            let cluster = try SharedCluster.get()
            let runtime = PrivateDirectory("restart")
            var service = try ExampleService(
                databaseURL: cluster.primary.url, socket: "auto", poolName: "e2e-restart",
                runtimeDirectory: runtime.path)
            defer { service.stop() }
            // No argument: the one service in the control directory.
            let pane = try TmuxPane(
                width: 120, height: 36, command: [try PooltopBinary.path(), "attach", "--refresh", "250ms"],
                environment: ["XDG_RUNTIME_DIR": runtime.path])
            defer { pane.kill() }
            try pane.waitFor("pid \(service.pid) pool e2e-restart")

            let firstPID = service.pid
            service.stop(SIGKILL)
            // Everything asserted below is waited for: a capture can catch tmux midway through drawing a frame.
            let stale = try pane.waitFor("STALE, disconnected, with the last pid", timeout: .seconds(15)) {
                $0.contains("STALE") && $0.contains("disconnected, retrying") && $0.contains("pid \(firstPID)")
            }
            #expect(stale.contains("disconnected, retrying"), "\(stale)")
            #expect(stale.contains("pid \(firstPID)"), "the last state stays on screen")

            service = try ExampleService(
                databaseURL: cluster.primary.url, socket: "auto", poolName: "e2e-restart",
                runtimeDirectory: runtime.path)
            let back = try pane.waitFor("the restarted service (new pid)", timeout: .seconds(20)) {
                $0.contains("pid \(service.pid) pool e2e-restart") && !$0.contains("STALE")
                    && !$0.contains("disconnected")
            }
            #expect(!back.contains("disconnected"))
        }

        @Test("ls, status --socket and ctl: what they print and their exit codes", .timeLimit(.minutes(3)))
        func commandLine() throws {
            let cluster = try SharedCluster.get()
            let runtime = PrivateDirectory("cli")
            let env = ["XDG_RUNTIME_DIR": runtime.path]

            // Nothing there: attach exits 1 and says how to turn an endpoint on.
            let none = try Self.pooltop(["attach"], environment: env)
            #expect(none.exitCode == 1, "\(none.stderr)")
            #expect(none.stderr.contains("DB_CONTROL_SOCKET=auto"), "\(none.stderr)")

            let service = try ExampleService(
                databaseURL: cluster.primary.url, socket: "auto", poolName: "e2e-cli", runtimeDirectory: runtime.path)
            defer { service.stop() }
            let socket = service.socketPath

            let ls = try Self.pooltop(["ls"], environment: env)
            #expect(ls.exitCode == 0)
            #expect(ls.stdout.contains("e2e-cli") && ls.stdout.contains("\(service.pid)") && ls.stdout.contains(socket))
            let lsJSON = try Self.pooltop(["ls", "--json"], environment: env)
            let rows = try #require(
                try JSONSerialization.jsonObject(with: Data(lsJSON.stdout.utf8)) as? [[String: Any]])
            #expect(rows.count == 1)
            #expect(rows.first?["pool_name"] as? String == "e2e-cli")
            #expect(rows.first?["healthy"] as? Bool == true)
            #expect(rows.first?["pool_size"] as? Int == 10)

            let status = try Self.pooltop(["status", "--socket", socket, "--json"])
            #expect(status.exitCode == 0, "\(status.stderr)")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
            for key in ["healthy", "pool_metrics", "health_check", "health_stats", "failover_stats", "leak_detection"] {
                #expect(object[key] != nil, "missing key \(key)")
            }
            let byName = try Self.pooltop(["status", "--socket", "e2e-cli"], environment: env)
            #expect(byName.exitCode == 0 && byName.stdout.contains("HEALTHY"), "\(byName.stdout) \(byName.stderr)")
            let badPath = try Self.pooltop(["status", "--socket", "/nonexistent/x.sock"])
            #expect(badPath.exitCode == 2 && badPath.stderr.contains("/nonexistent/x.sock"), "\(badPath.stderr)")

            let suspend = try Self.pooltop(["ctl", socket, "suspend"])
            #expect(
                suspend.exitCode == 0 && suspend.stdout.contains("suspended"), "\(suspend.stdout) \(suspend.stderr)")
            #expect(try ControlClient(socketPath: socket).snapshot().snapshot.metrics.isSuspended)
            #expect(try Self.pooltop(["ctl", socket, "resume"]).exitCode == 0)
            let refused = try Self.pooltop(["ctl", socket, "failover", "--target", "7"])
            #expect(refused.exitCode == 1, "\(refused.stdout) \(refused.stderr)")
            #expect(refused.stderr.contains("refused") && refused.stderr.contains("target"), "\(refused.stderr)")
            let gone = try Self.pooltop(["ctl", socket, "terminate", "#99999"])
            #expect(gone.exitCode == 1, "\(gone.stderr)")
            for bad in [
                ["ctl", socket, "frobnicate"], ["ctl", socket, "terminate"],
                ["ctl", socket, "suspend", "--target", "1"],
                ["ctl", socket, "terminate", "abc"],
            ] {
                let result = try Self.pooltop(bad)
                #expect(result.exitCode == 2, "\(bad): \(result.stderr)")
                #expect(result.stderr.contains("expected") || result.stderr.contains("goes with"), "\(result.stderr)")
            }

            // A second service: attach with no argument asks to choose (exit 2) and lists both.
            let second = try ExampleService(
                databaseURL: cluster.primary.url, socket: "auto", poolName: "e2e-cli-2", runtimeDirectory: runtime.path)
            defer { second.stop() }
            let several = try Self.pooltop(["attach"], environment: env)
            #expect(several.exitCode == 2)
            #expect(several.stderr.contains("e2e-cli ") && several.stderr.contains("e2e-cli-2"), "\(several.stderr)")

            // A crashed service leaves its socket file: status says it does not answer (exit 1).
            second.stop(SIGKILL)
            let dead = try Self.pooltop(["status", "--socket", second.socketPath])
            #expect(dead.exitCode == 1 && dead.stderr.contains("nothing accepts connections"), "\(dead.stderr)")
            let lsDead = try Self.pooltop(["ls"], environment: env)
            #expect(lsDead.stdout.contains("no answer: connection refused"), "\(lsDead.stdout)")
        }
    }
}
