import Foundation
import Testing

extension EndToEndTests {
    /// `pooltop demo`: the binary starts its own primary + standby and workload, and must clean them up.
    @Suite("demo")
    struct DemoTests {
        static func demo(width: Int = 80, height: Int = 24, _ arguments: [String] = []) throws -> TmuxPane {
            try TmuxPane(width: width, height: height, command: [try PooltopBinary.path(), "demo"] + arguments)
        }

        /// The demo's main view, with both of its servers listed in the Failover panel; returns their ports
        /// (primary first).
        static func waitForDemo(_ pane: TmuxPane) throws -> (screen: String, primary: Int, standby: Int) {
            var found: (Int, Int)?
            let screen = try pane.waitFor("the demo's main view with a primary and a standby", timeout: .seconds(60)) {
                screen in
                let lines = screen.split(separator: "\n").map(String.init)
                guard screen.contains("pooltop demo"), screen.contains("q quit"), screen.contains("Events ") else {
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
                guard let range = Self.frameRange(detail), range.last < range.count else { break }
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
            }
            #expect(main.contains("f failover"))
        }

        @Test(
            "q exits 0, restores the terminal and leaves no PostgreSQL process or directory",
            .timeLimit(.minutes(2)))
        func quitCleansUp() throws {
            let pane = try Self.demo()
            defer { pane.kill() }
            let (_, primary, standby) = try Self.waitForDemo(pane)
            let directories = [primary, standby].compactMap(dataDirectory(ofServerOnPort:))
            try #require(directories.count == 2, "data directories of the demo's servers on \(primary), \(standby)")
            let clusterDirectory = URL(fileURLWithPath: directories[0]).deletingLastPathComponent().path
            #expect(clusterDirectory.hasPrefix("/tmp/pooltop-"))
            #expect(FileManager.default.fileExists(atPath: clusterDirectory))
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

        /// The Leaks panel's row of the demo's deliberate leak.
        static func leakRow(_ screen: String) -> String? {
            screen.split(separator: "\n").first { $0.contains("demo-leaker") && $0.contains("#") }.map(String.init)
        }

        /// "frames 1-13 of 24" → (1, 13, 24).
        static func frameRange(_ screen: String) -> (first: Int, last: Int, count: Int)? {
            guard let range = screen.range(of: "frames ") else { return nil }
            let words = screen[range.upperBound...].prefix { $0 != "\n" }.split(separator: " ")
            guard words.count >= 3 else { return nil }
            let bounds = words[0].split(separator: "-").compactMap { Int($0) }
            guard bounds.count == 2, words[1] == "of", let count = Int(words[2]) else { return nil }
            return (bounds[0], bounds[1], count)
        }
    }
}
