import ConnectionManager
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEndTests {
    /// `pooltop demo`: the binary starts its own primary + standby, the workload as a separate service process
    /// (`pooltop demo-service`) with its control socket on, attaches to it, and must clean all of them up.
    @Suite("demo")
    struct DemoTests {
        /// Planted in pooltop's environment: the service's environment must not carry it.
        static let planted = ["POOLTOP_E2E_PLANTED": "planted-e2e-value", "PGPASSWORD": "planted-pgpassword"]

        static func demo(width: Int = 80, height: Int = 24, _ arguments: [String] = []) throws -> TmuxPane {
            try TmuxPane(
                width: width, height: height, command: [try PooltopBinary.path(), "demo"] + arguments,
                environment: planted)
        }

        /// The demo's main view, with both of its servers listed in the Failover panel; returns their ports
        /// (primary first).
        static func waitForDemo(_ pane: TmuxPane) throws -> (screen: String, primary: Int, standby: Int) {
            var found: (Int, Int)?
            let screen = try pane.waitFor("the demo's main view with a primary and a standby", timeout: .seconds(60)) {
                screen in
                let lines = screen.split(separator: "\n").map(String.init)
                guard headerServicePID(screen) != nil, screen.contains("q quit"), screen.contains("Events ") else {
                    return false
                }
                let rows = ports(on: lines.dropFirst().joined(separator: "\n")).compactMap { port in
                    failoverRow(screen, "127.0.0.1:\(port)").map { (port, $0) }
                }
                let primary = rows.first { isCurrentTarget(screen, "127.0.0.1:\($0.0)") && $0.1.contains("primary") }
                guard let p = primary?.0, let s = rows.first(where: { $0.1.contains("standby") })?.0 else {
                    return false
                }
                found = (p, s)
                return true
            }
            let (primary, standby) = try #require(found)
            return (screen, primary, standby)
        }

        @Test(
            "a leak appears; Enter opens its checkout stack and the server's view; Esc closes it",
            .timeLimit(.minutes(2)))
        func leakDetail() throws {
            // Wide enough that stack frames show whole function names.
            let pane = try Self.demo(width: 160, height: 48, ["--leak-every", "3s", "--leak-threshold", "2s"])
            defer { pane.kill() }
            _ = try Self.waitForDemo(pane)

            // The Leaks panel has focus at start; its first row is selected.
            let leaks = try pane.waitFor("a leak row from the demo's leaker thread", timeout: .seconds(40)) {
                // The SERVER column is cut to "idle in transa…" at this width.
                Self.leakRow($0)?.contains("idle in transa") == true
            }
            let row = try #require(Self.leakRow(leaks))
            #expect(row.contains("▶"))
            #expect(row.contains("SELECT count(*) FROM"))

            try pane.send("Enter")
            var detail = try pane.waitFor("the leak detail with its stack", timeout: .seconds(20)) {
                $0.contains("Leak #") && $0.contains("Checkout stack frames")
            }
            #expect(detail.contains("idle in transaction"))
            #expect(detail.contains("thread demo-leaker"))
            // Page through the stack until the demo's leaking function shows (it is a few frames down).
            for _ in 0..<6 where !detail.contains("leakAConnectionForTheDemo") {
                // Frame numbers are the backtrace's (from 0): the last frame is count - 1.
                guard let range = Self.frameRange(detail), range.last < range.count - 1 else { break }
                try pane.send("PageDown")
                detail = try pane.waitFor("the next page of frames", timeout: .seconds(10)) {
                    Self.frameRange($0).map { $0.first > range.first } ?? false
                }
            }
            #expect(detail.contains("leakAConnectionForTheDemo"), "no frame names the leaking function:\n\(detail)")
            #expect(detail.contains("DemoWorkload.swift:"))

            try pane.send("Escape")
            let main = try pane.waitFor("the main view again", timeout: .seconds(10)) {
                !$0.contains("Checkout stack") && $0.contains("Leaks ") && $0.contains("Events ")
                    && $0.contains("f failover")
            }
            #expect(main.contains("f failover"))
        }

        @Test(
            "q exits 0, restores the terminal and leaves no PostgreSQL process or directory",
            .timeLimit(.minutes(2)))
        func quitCleansUp() throws {
            let pane = try Self.demo()
            defer { pane.kill() }
            let (screen, primary, standby) = try Self.waitForDemo(pane)
            let footprint = try Self.footprint(pane, screen: screen, primary: primary, standby: standby)
            let clusterDirectory = footprint.clusterDirectory
            #expect(clusterDirectory.hasPrefix("/tmp/pooltop-"))
            #expect(FileManager.default.fileExists(atPath: clusterDirectory))
            #expect(FileManager.default.fileExists(atPath: footprint.socket))
            #expect(try pane.display("#{alternate_on} #{cursor_flag}") == "1 0")

            try pane.send("q")
            #expect(try pane.waitForExit(timeout: .seconds(30)) == 0)
            #expect(try pane.display("#{alternate_on} #{cursor_flag}") == "0 1")
            // pooltop stopped its servers before exiting: nothing is left to wait for.
            #expect(!isListening(port: primary))
            #expect(!isListening(port: standby))
            let servers = processes(commandLineContaining: clusterDirectory).filter {
                $0.commandLine.contains("postgres") && !$0.commandLine.contains("pooltop-watchdog")
            }
            #expect(servers.isEmpty, "PostgreSQL processes left: \(servers)")
            // LocalCluster's crash watchdog notices the directory is gone within about a second and exits.
            #expect(
                eventually(timeout: .seconds(5)) { processes(commandLineContaining: clusterDirectory).isEmpty },
                "processes left: \(processes(commandLineContaining: clusterDirectory))")
            #expect(!FileManager.default.fileExists(atPath: clusterDirectory))
            Self.expectNothingLeft(footprint)
        }

        @Test(
            "K kills the primary and promotes the standby; the automatic failover shows within 20 s",
            .timeLimit(.minutes(2)))
        func killAndPromote() throws {
            let pane = try Self.demo()
            defer { pane.kill() }
            let (_, primary, standby) = try Self.waitForDemo(pane)

            try pane.send("K")
            try pane.waitFor(all: ["Confirm", "kill primary"], timeout: .seconds(10))
            try pane.send("y")
            let clock = ContinuousClock()
            let start = clock.now
            let after = try pane.waitFor("failovers 1 with the standby current", timeout: .seconds(20)) { screen in
                let lines = screen.split(separator: "\n").map(String.init)
                let header = lines.first ?? ""
                return header.contains("failovers 1") && header.contains("127.0.0.1:\(standby)")
                    && isCurrentTarget(screen, "127.0.0.1:\(standby)")
            }
            let elapsed = clock.now - start
            #expect(!isCurrentTarget(after, "127.0.0.1:\(primary)"))
            #expect(after.split(separator: "\n").first?.contains("primary") == true)
            print("demo K: failover visible \(elapsed) after y")

            try pane.send("q")
            #expect(try pane.waitForExit(timeout: .seconds(30)) == 0)
        }

        @Test(
            "pooltop with nothing configured: a separate service process's pool, through its socket; s acts there",
            .timeLimit(.minutes(2)))
        func separateService() throws {
            // No subcommand, no --url, no DATABASE_URL: the demo (what `swift run pooltop` does).
            let pane = try TmuxPane(
                width: 100, height: 30, command: [try PooltopBinary.path()], environment: Self.planted)
            defer { pane.kill() }
            let (screen, primary, standby) = try Self.waitForDemo(pane)
            let demo = try Self.footprint(pane, screen: screen, primary: primary, standby: standby)
            #expect(demo.service != demo.pooltop, "the header names pooltop's own pid")
            #expect(screen.split(separator: "\n").first?.contains(" pooltop-demo pid \(demo.service) ") == true)

            // The private directory and the socket are the user's alone.
            #expect(Self.mode(demo.privateDirectory) == 0o700)
            #expect(Self.mode(demo.socket) == 0o600)
            // The service's environment is the minimal one: nothing planted in pooltop's reaches it.
            let environ = try #require(FileManager.default.contents(atPath: "/proc/\(demo.service)/environ"))
            let variables = String(decoding: environ, as: UTF8.self).split(separator: "\0").map(String.init)
            #expect(variables.contains("DB_CONTROL_SOCKET=\(demo.socket)"))
            #expect(variables.contains("DB_POOL_NAME=pooltop-demo"))
            #expect(
                variables.contains("DATABASE_URL=postgresql://postgres@127.0.0.1:\(primary)/postgres"), "\(variables)")
            #expect(!variables.contains { $0.contains("planted") }, "\(variables)")
            #expect(!variables.contains { $0.hasPrefix("TERM=") || $0.hasPrefix("HOME=") }, "\(variables)")
            // Its output goes to the log in the private directory, never to the terminal.
            let stdout = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(demo.service)/fd/1")
            #expect(stdout == demo.privateDirectory + "/service.log")

            // The socket answers as a service's: the same pid, the demo's pool name.
            let client = ControlClient(socketPath: demo.socket, timeout: .seconds(5))
            let info = try client.info()
            #expect(info.pid == demo.service)
            #expect(info.poolName == "pooltop-demo")

            // s, y: the pool in the service is suspended, by pooltop (the event names the sender).
            try pane.send("s")
            try pane.waitFor("y yes", timeout: .seconds(10))
            try pane.send("y")
            try pane.waitFor("SUSPENDED", timeout: .seconds(10))
            #expect(try client.snapshot().snapshot.metrics.isSuspended)
            #expect(
                try client.snapshot().snapshot.events.contains {
                    $0.message.contains("suspended by uid \(getuid()) pid \(demo.pooltop) (pooltop)")
                })
            try pane.send("s")
            try pane.waitFor("y yes", timeout: .seconds(10))
            try pane.send("y")
            try pane.waitFor("the pool to resume", timeout: .seconds(10)) { !$0.contains("SUSPENDED") }
            #expect(try !client.snapshot().snapshot.metrics.isSuspended)

            try pane.send("q")
            #expect(try pane.waitForExit(timeout: .seconds(30)) == 0)
            Self.expectNothingLeft(demo)
        }

        @Test(
            "Ctrl-C, SIGTERM or SIGKILL to pooltop: no server, no service process, no socket or directory is left",
            .timeLimit(.minutes(3)), arguments: ["Ctrl-C", "SIGTERM", "SIGKILL"])
        func signalCleansUp(_ how: String) throws {
            let pane = try Self.demo()
            defer { pane.kill() }
            let (screen, primary, standby) = try Self.waitForDemo(pane)
            let demo = try Self.footprint(pane, screen: screen, primary: primary, standby: standby)

            switch how {
            case "Ctrl-C": try pane.send("C-c")
            case "SIGTERM": kill(demo.pooltop, SIGTERM)
            default: kill(demo.pooltop, SIGKILL)
            }
            if how == "Ctrl-C" {
                // The pane's /bin/sh (dash) is in the foreground process group too and dies of the SIGINT at once,
                // so no exit status is written, and the pane's end may hang pooltop up mid-cleanup (SIGHUP): then
                // the crash path cleans up. Either way nothing may be left.
                #expect(
                    eventually(timeout: .seconds(30)) {
                        processes(commandLineContaining: "demo-service --parent-pid \(demo.pooltop) ").isEmpty
                            && kill(demo.pooltop, 0) != 0
                    })
            } else {
                let expected: Int32 = how == "SIGTERM" ? 143 : 128 + SIGKILL
                #expect(try pane.waitForExit(timeout: .seconds(30)) == expected)
            }
            if how == "SIGTERM" {
                #expect(try pane.display("#{alternate_on} #{cursor_flag}") == "0 1", "the terminal is restored")
            }
            // After SIGKILL: the service stops by its parent-death signal and removes its files; LocalCluster's
            // watchdog stops the servers within about a second.
            Self.expectNothingLeft(demo, timeout: .seconds(15))
        }

        @Test(
            "SIGKILL the service: STALE and disconnected, restarted once with a new pid; a second crash is reported",
            .timeLimit(.minutes(3)))
        func serviceCrash() throws {
            let pane = try Self.demo(width: 120, height: 30, ["--refresh", "250ms"])
            defer { pane.kill() }
            let (screen, primary, standby) = try Self.waitForDemo(pane)
            let demo = try Self.footprint(pane, screen: screen, primary: primary, standby: standby)

            kill(demo.service, SIGKILL)
            let stale = try pane.waitFor("STALE and the crash", timeout: .seconds(15)) {
                $0.contains("STALE") && $0.contains("disconnected, retrying") && $0.contains("killed by SIGKILL")
                    && $0.contains("pid \(demo.service)")
            }
            #expect(stale.contains("pid \(demo.service)"), "the last state stays on screen:\n\(stale)")
            var restarted: Int32?
            try pane.waitFor("the restarted service with a new pid", timeout: .seconds(30)) { screen in
                guard let pid = Self.headerServicePID(screen), pid != demo.service, !screen.contains("STALE") else {
                    return false
                }
                restarted = pid
                return true
            }
            let second = try #require(restarted)
            #expect(try ControlClient(socketPath: demo.socket, timeout: .seconds(5)).info().pid == second)
            #expect(
                processes(commandLineContaining: "demo-service --parent-pid \(demo.pooltop) ").map(\.pid) == [second])

            // Once only: the second crash is not restarted, and the screen says so.
            kill(second, SIGKILL)
            try pane.waitFor("the second crash, not restarted", timeout: .seconds(15)) {
                $0.contains("STALE") && $0.contains("not restarted")
            }
            try pane.send("q")
            #expect(try pane.waitForExit(timeout: .seconds(30)) == 0)
            Self.expectNothingLeft(demo)
        }

        /// What a running demo consists of: pooltop, its service process, their files, the servers.
        struct Footprint {
            var pooltop: Int32
            var service: Int32
            var privateDirectory: String
            var clusterDirectory: String
            var ports: [Int]
            var socket: String { privateDirectory + "/control.sock" }
        }

        /// Found from the screen (the header's pid, the Failover panel's ports) and `/proc` (the service's
        /// `--directory`, the servers' data directories).
        static func footprint(_ pane: TmuxPane, screen: String, primary: Int, standby: Int) throws -> Footprint {
            let pooltop = try pane.programPID()
            let service = try #require(headerServicePID(screen), "the header names the service's pid")
            let commandLine = try #require(
                processes(commandLineContaining: "demo-service --parent-pid \(pooltop) ").first { $0.pid == service }?
                    .commandLine, "pid \(service) is pooltop's demo-service child")
            let words = commandLine.split(separator: " ").map(String.init)
            let d = try #require(words.firstIndex(of: "--directory"))
            let privateDirectory = words[d + 1]
            #expect(privateDirectory.hasPrefix("/tmp/pooltop-demo-"))
            let directories = [primary, standby].compactMap(dataDirectory(ofServerOnPort:))
            try #require(directories.count == 2, "data directories of the demo's servers on \(primary), \(standby)")
            let clusterDirectory = URL(fileURLWithPath: directories[0]).deletingLastPathComponent().path
            return Footprint(
                pooltop: pooltop, service: service, privateDirectory: privateDirectory,
                clusterDirectory: clusterDirectory, ports: [primary, standby])
        }

        /// No PostgreSQL server of that cluster, no service process, no socket, no directory.
        static func expectNothingLeft(_ demo: Footprint, timeout: Duration = .seconds(10)) {
            #expect(
                eventually(timeout: timeout) { processes(commandLineContaining: demo.clusterDirectory).isEmpty },
                "processes left: \(processes(commandLineContaining: demo.clusterDirectory))")
            #expect(
                eventually(timeout: timeout) { processes(commandLineContaining: demo.privateDirectory).isEmpty },
                "service processes left: \(processes(commandLineContaining: demo.privateDirectory))")
            #expect(
                eventually(timeout: timeout) {
                    processes(commandLineContaining: "demo-service --parent-pid \(demo.pooltop) ").isEmpty
                })
            #expect(eventually(timeout: timeout) { !FileManager.default.fileExists(atPath: demo.clusterDirectory) })
            #expect(!FileManager.default.fileExists(atPath: demo.socket))
            #expect(
                !FileManager.default.fileExists(atPath: demo.privateDirectory),
                "left: \((try? FileManager.default.contentsOfDirectory(atPath: demo.privateDirectory)) ?? [])")
            for port in demo.ports { #expect(!isListening(port: port)) }
        }

        /// The service's pid in the header (` pooltop-demo pid 4242 `).
        static func headerServicePID(_ screen: String) -> Int32? {
            guard let header = screen.split(separator: "\n").first,
                let match = header.firstMatch(of: /^ pooltop-demo pid (\d+)\s/)
            else { return nil }
            return Int32(match.1)
        }

        /// The permission bits of `path`, or nil when it does not exist.
        static func mode(_ path: String) -> mode_t? {
            var info = stat()
            return stat(path, &info) == 0 ? info.st_mode & 0o777 : nil
        }

        /// The Leaks panel's row of the demo's deliberate leak.
        static func leakRow(_ screen: String) -> String? {
            screen.split(separator: "\n").first { $0.contains("demo-leaker") && $0.contains("#") }.map(String.init)
        }

        /// "frames 2-13 of 24, from the caller" → (2, 13, 24).
        static func frameRange(_ screen: String) -> (first: Int, last: Int, count: Int)? {
            guard let range = screen.range(of: "frames ") else { return nil }
            let words = screen[range.upperBound...].prefix { $0 != "\n" }.split(separator: " ")
            guard words.count >= 3 else { return nil }
            let bounds = words[0].split(separator: "-").compactMap { Int($0) }
            guard bounds.count == 2, words[1] == "of", let count = Int(words[2].prefix { $0.isNumber }) else {
                return nil
            }
            return (bounds[0], bounds[1], count)
        }
    }
}
