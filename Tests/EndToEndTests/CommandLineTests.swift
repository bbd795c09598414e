import Foundation
import LocalCluster
import Testing

extension EndToEndTests {
    /// Bad input, `pooltop status`, and passwords: exit codes and messages of the real binary.
    @Suite("command line")
    struct CommandLineTests {
        static func pooltop(_ arguments: [String], stdoutPath: String? = nil) throws -> Subprocess.Result {
            try Subprocess.run(
                [try PooltopBinary.path()] + arguments, environment: ["SWIFT_BACKTRACE": "interactive=no"],
                removing: ["DATABASE_URL", "DATABASE_FAILOVER_URLS"], stdoutPath: stdoutPath,
                timeout: .seconds(60))
        }

        @Test("an unknown theme exits 2 with a message", .timeLimit(.minutes(1)))
        func unknownTheme() throws {
            let cluster = try SharedCluster.get()
            // In a terminal, so that the theme is what is wrong.
            let pane = try TmuxPane(
                width: 100, height: 10,
                command: [try PooltopBinary.path(), "--url", cluster.primary.url, "--theme", "nosuch"])
            defer { pane.kill() }
            #expect(try pane.waitForExit() == 2)
            let screen = try pane.screen()
            #expect(screen.contains("nosuch"), "the message names the theme:\n\(screen)")
            #expect(try pane.display("#{alternate_on} #{cursor_flag}") == "0 1")
        }

        /// Regression (issue 10, bad input 3): with `TERM` unset or unknown ncurses printed
        /// "Error opening terminal: unknown." and exited 1; with `TERM=dumb` the dashboard drew a blank screen.
        @Test(
            "TERM unset, unknown or dumb exits 2 naming TERM, before curses starts", .timeLimit(.minutes(1)),
            arguments: [
                ([String: String](), ["TERM"], "TERM is not set"),
                (["TERM": "nosuch"], [], "TERM=nosuch is not a terminal type"),
                (["TERM": "dumb"], [], "TERM=dumb cannot move the cursor"),
            ])
        func unusableTerm(_ environment: [String: String], unsetting: [String], message: String) throws {
            let pane = try TmuxPane(
                width: 200, height: 10, command: [try PooltopBinary.path(), "--url", "postgresql://u@127.0.0.1:1/d"],
                environment: environment, unsetting: unsetting)
            defer { pane.kill() }
            #expect(try pane.waitForExit() == 2)
            let screen = try pane.screen()
            #expect(screen.contains(message), "the message names TERM:\n\(screen)")
            #expect(screen.contains("xterm-256color"), "the message says what is expected:\n\(screen)")
            #expect(!screen.contains("Error opening terminal"), "\(screen)")
            #expect(try pane.display("#{alternate_on} #{cursor_flag}") == "0 1")
        }

        /// Regression: SIGHUP (ssh dropped) had its default action, killing pooltop mid-curses: no cleanup, and
        /// the terminal left in the alternate screen with the cursor hidden.
        @Test("SIGHUP ends the dashboard like SIGTERM: exit 129, terminal restored", .timeLimit(.minutes(1)))
        func hangUp() throws {
            let cluster = try SharedCluster.get()
            let pane = try TmuxPane(
                width: 100, height: 30, command: [try PooltopBinary.path(), "--url", cluster.primary.url])
            defer { pane.kill() }
            try pane.waitFor("the dashboard to draw") { screen in
                (try? pane.display("#{alternate_on}")) == "1" && screen.contains("\(cluster.primary.port)")
            }
            #expect(kill(try pane.programPID(), SIGHUP) == 0)
            #expect(try pane.waitForExit(timeout: .seconds(10)) == 129)
            #expect(try pane.display("#{alternate_on} #{cursor_flag}") == "0 1")
        }

        /// Regression (issue 10, bad input 2): `--load N` beyond the thread budget froze the dashboard (Foundation's
        /// `Thread` fails to start silently; with the budget used up Dispatch cannot run the keys or signals), and
        /// only SIGKILL ended it, in curses mode. Run as a user id of its own (RLIMIT_NPROC is not enforced for
        /// root, and counts every thread of the user) with a low `ulimit -u`.
        @Test(
            "--load beyond the thread limit exits 2 with a message, terminal untouched",
            .enabled(if: getuid() == 0, "needs root to run as a user of its own"), .timeLimit(.minutes(1)),
            arguments: [(40, "could not start load client"), (264, "fewer than 16 threads for the rest of pooltop")])
        func loadBeyondThreadLimit(_ limit: Int, message: String) throws {
            let uid = String(40000 + Int(getpid()) % 20000 + limit)
            let pane = try TmuxPane(
                width: 200, height: 10,
                command: [
                    "setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "prlimit",
                    "--nproc=\(limit):\(limit)",
                    try PooltopBinary.path(), "--url", "postgresql://u@127.0.0.1:1/d", "--load", "256",
                ])
            defer { pane.kill() }
            #expect(try pane.waitForExit(timeout: .seconds(20)) == 2)
            let screen = try pane.screen().replacingOccurrences(of: "\n", with: "")
            #expect(screen.contains("--load 256") && screen.contains(message), "\(screen)")
            #expect(screen.contains("ulimit -u"), "\(screen)")
            #expect(try pane.display("#{alternate_on} #{cursor_flag}") == "0 1")
        }

        /// Regression (issue 10, bad input 5): the notice processor was installed only after the connection was up,
        /// so libpq printed a NOTICE the server sent during connect to stderr — over the dashboard.
        @Test("a NOTICE sent while connecting is never printed by libpq", .timeLimit(.minutes(1)))
        func noticeDuringConnect() throws {
            let cluster = try SharedCluster.get()
            let long = String(repeating: "a", count: 80)
            let result = try Self.pooltop(["status", "--url", cluster.primary.url + "?application_name=\(long)"])
            #expect(result.exitCode == 0, "stderr: \(result.stderr)")
            #expect(!result.stderr.contains("NOTICE"), "stderr: \(result.stderr)")
            #expect(!result.stderr.contains("will be truncated"), "stderr: \(result.stderr)")
        }

        @Test("--version prints the version and the control protocol, exit 0", .timeLimit(.minutes(1)))
        func version() throws {
            let result = try Self.pooltop(["--version"])
            #expect(result.exitCode == 0, "stderr: \(result.stderr)")
            #expect(result.stdout.hasPrefix("pooltop ") && result.stdout.contains("control protocol 1"))
        }

        /// Regression (issue 10, readable at 80×24): `pooltop --help` listed only --version and --help (the
        /// dashboard's options were under `pooltop dashboard --help`), and `pooltop demo --help` listed --url and
        /// --failover-url, which the demo refuses, and the library's defaults (pool size 10, leak threshold 300s)
        /// instead of the demo's.
        @Test("--help lists the dashboard's options; demo --help only the demo's, with its defaults")
        func help() throws {
            let top = try Self.pooltop(["--help"])
            #expect(top.exitCode == 0)
            for option in ["--url", "--failover-url", "--pool-size", "--refresh", "--theme", "--load", "POOLTOP_LOAD"] {
                #expect(top.stdout.contains(option), "pooltop --help lacks \(option):\n\(top.stdout)")
            }
            #expect(top.stdout.contains("SUBCOMMANDS"))
            let demo = try Self.pooltop(["demo", "--help"])
            #expect(demo.exitCode == 0)
            let flat = demo.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(!flat.contains("--url") && !flat.contains("--failover-url"), "\(demo.stdout)")
            for text in [
                "Persistent connections (default 8)", "pool size (default 6)", "(default 2s)",
                "(default 1s). Env: DB_HEALTH",
                "leak (default 5s)", "opening a connection (default 1s)", "--leak-every", "--load",
            ] {
                #expect(flat.contains(text), "demo --help lacks \(text):\n\(demo.stdout)")
            }
            #expect(!flat.contains("(default 10)") && !flat.contains("300s"), "\(demo.stdout)")
            let refused = try Self.pooltop(["demo", "--url", "postgresql://x/y"])
            #expect(refused.exitCode == 2 && refused.stderr.contains("takes no --url"), "\(refused.stderr)")
        }

        @Test("status with a mysql:// URL exits 2 and names the problem", .timeLimit(.minutes(1)))
        func statusBadScheme() throws {
            let result = try Self.pooltop(["status", "--url", "mysql://x"])
            #expect(result.exitCode == 2)
            #expect(result.stderr.contains("--url"), "stderr: \(result.stderr)")
            #expect(result.stderr.lowercased().contains("mysql"), "stderr: \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }

        /// Regression (issue 10, bad input 3): a libpq option value libpq refuses only when connecting was reported
        /// as an unreachable server ("UNHEALTHY", exit 1) instead of as bad input.
        @Test(
            "status with a bad libpq option value exits 2 naming the flag, the option and what it takes",
            .timeLimit(.minutes(1)),
            arguments: [
                (["--url", "postgresql://u@127.0.0.1:1/app?sslmode=bogus"], "--url", "sslmode", "verify-full"),
                (
                    ["--url", "host=127.0.0.1 port=1", "--failover-url", "host=127.0.0.1 port=2 connect_timeout=abc"],
                    "--failover-url", "connect_timeout", "whole number"
                ),
            ])
        func statusBadOptionValue(_ flags: [String], flag: String, option: String, expected: String) throws {
            let result = try Self.pooltop(["status"] + flags)
            #expect(result.exitCode == 2, "stderr: \(result.stderr)")
            #expect(result.stderr.contains(flag), "stderr: \(result.stderr)")
            #expect(result.stderr.contains(option) && result.stderr.contains(expected), "stderr: \(result.stderr)")
            #expect(!result.stderr.contains("UNHEALTHY") && result.stdout.isEmpty, "stdout: \(result.stdout)")
        }

        @Test(
            "the dashboard with stdout not a terminal exits 2 and points to `pooltop status --json`",
            .timeLimit(.minutes(1)))
        func notATerminal() throws {
            let cluster = try SharedCluster.get()
            let output = "/tmp/pooltop-e2e-out-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: output) }
            let result = try Self.pooltop(["--url", cluster.primary.url], stdoutPath: output)
            #expect(result.exitCode == 2)
            #expect(result.stderr.contains("pooltop status --json"), "stderr: \(result.stderr)")
            #expect((try? String(contentsOfFile: output, encoding: .utf8)) == "")
        }

        @Test("status --json prints the seed's keys and exits 0 on a healthy primary", .timeLimit(.minutes(1)))
        func statusJSON() throws {
            let cluster = try SharedCluster.get()
            let result = try Self.pooltop(["status", "--json", "--url", cluster.primary.url])
            #expect(result.exitCode == 0, "stderr: \(result.stderr)")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                "stdout is not a JSON object: \(result.stdout)")
            for key in ["healthy", "pool_metrics", "health_check", "health_stats", "failover_stats", "leak_detection"] {
                #expect(object[key] != nil, "missing key \(key)")
            }
            #expect(object["healthy"] as? Bool == true)
            let failover = try #require(object["failover_stats"] as? [String: Any])
            #expect((failover["current_url"] as? String)?.contains(hostPort(cluster.primary)) == true)
        }

        @Test("status against a closed port exits 1", .timeLimit(.minutes(1)))
        func statusClosedPort() throws {
            let port = try closedPort()
            let url = "postgresql://postgres@127.0.0.1:\(port)/postgres"
            let result = try Self.pooltop(["status", "--json", "--url", url])
            #expect(result.exitCode == 1, "stdout: \(result.stdout) stderr: \(result.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            #expect(object?["healthy"] as? Bool == false)
        }

        @Test("a password in the URL is never shown: not in status --json, not on screen", .timeLimit(.minutes(2)))
        func passwordMasked() throws {
            let cluster = try SharedCluster.get()
            let standby = try #require(cluster.standby)
            let password = SharedCluster.password
            let url = cluster.primary.url(user: SharedCluster.user, password: password)
            let failoverURL = standby.url(user: SharedCluster.user, password: password)

            let json = try Self.pooltop(["status", "--json", "--url", url, "--failover-url", failoverURL])
            #expect(json.exitCode == 0, "the password login works: \(json.stderr)")
            #expect(!json.stdout.contains(password))
            #expect(!json.stderr.contains(password))
            #expect(json.stdout.contains("\(SharedCluster.user):***@"))
            let text = try Self.pooltop(["status", "--url", url])
            #expect(text.exitCode == 0)
            #expect(!(text.stdout + text.stderr).contains(password))

            // Wide enough for the header to show the whole (masked) URL.
            let pane = try TmuxPane(
                width: 160, height: 48,
                command: [try PooltopBinary.path(), "--url", url, "--failover-url", failoverURL, "--refresh", "250ms"])
            defer { pane.kill() }
            let screen = try pane.waitFor("the header with the masked URL") { screen in
                screen.contains("\(SharedCluster.user):***@\(hostPort(cluster.primary))") && screen.contains("Events ")
            }
            #expect(!screen.contains(password))
            try pane.send("f")
            let picker = try pane.waitFor("Fail over to…", timeout: .seconds(10))
            #expect(!picker.contains(password))
            try pane.send("Escape")
            // A key typed within ncurses' escape delay would turn Esc into Alt+key: wait for the picker to close.
            try pane.waitFor("the picker to close", timeout: .seconds(10)) { !$0.contains("Fail over to…") }
            try pane.send("?")
            let help = try pane.waitFor("Dimmed keys", timeout: .seconds(10))
            #expect(!help.contains(password))
        }
    }
}
