import Foundation
import LocalCluster
import Testing

extension EndToEndTests {
    /// `pooltop --url … --failover-url …` on real servers in an 80×24 tmux pane.
    @Suite("dashboard")
    struct DashboardTests {
        static let panelTitles = ["Pool ", "Health ", "Leaks ", "Failover ", "Events "]
        static let footerKeys = ["q quit", "? help", "f failover"]

        /// The dashboard on `primary` with `standby` as failover target, fast health checks and refresh.
        static func dashboard(
            primary: Member, standby: Member, width: Int = 80, height: Int = 24, extra: [String] = []
        ) throws -> TmuxPane {
            try TmuxPane(
                width: width, height: height,
                command: [
                    try PooltopBinary.path(), "--url", primary.url, "--failover-url", standby.url,
                    "--health-interval", "250ms", "--refresh", "250ms",
                ] + extra)
        }

        /// The main view is complete: header with the target and its role, every panel, the footer keys.
        static func mainViewIsComplete(_ screen: String, current: Member) -> Bool {
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
            guard let header = lines.first else { return false }
            return header.contains(hostPort(current)) && header.contains("primary")
                && panelTitles.allSatisfy(screen.contains) && footerKeys.allSatisfy(screen.contains)
        }

        /// Regression (issue 10): the header said `standby` for a dead primary (it read `isPrimary ? primary : standby`).
        @Test("the header never says standby for a dead primary", .timeLimit(.minutes(2)))
        func deadPrimaryIsNotAStandby() throws {
            let cluster = try LocalCluster.start()
            defer { cluster.stop() }
            let pane = try TmuxPane(
                width: 80, height: 24,
                command: [
                    try PooltopBinary.path(), "--url", cluster.primary.url, "--health-interval", "250ms", "--refresh",
                    "250ms",
                ])
            defer { pane.kill() }
            try pane.waitFor("the healthy primary") { $0.split(separator: "\n").first?.contains("primary") == true }
            try cluster.primary.kill9()
            var headers: [String] = []
            let down = try pane.waitFor("the header saying the primary is down", timeout: .seconds(15)) { screen in
                let header = String(screen.split(separator: "\n").first ?? "")
                headers.append(header)
                return header.contains("unreachable") && header.contains("UNHEALTHY")
            }
            #expect(down.split(separator: "\n").first?.contains("standby") == false)
            #expect(!headers.contains { $0.contains("standby") }, "headers seen: \(Set(headers))")
        }

        @Test("header, Pool, Health, Leaks, Failover, Events and the footer keys appear", .timeLimit(.minutes(2)))
        func panelsAppear() throws {
            let cluster = try SharedCluster.get()
            let standby = try #require(cluster.standby)
            let pane = try Self.dashboard(primary: cluster.primary, standby: standby)
            defer { pane.kill() }

            let screen = try pane.waitFor("the complete main view with both targets healthy") { screen in
                Self.mainViewIsComplete(screen, current: cluster.primary)
                    && screen.contains("healthy") && screen.contains("failovers 0")
                    && Self.targetLine(screen, standby)?.contains("standby") == true
            }
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
            #expect(lines.count == 24)
            #expect(lines[0].contains("pooltop"))
            // The header shows host:port (the URL without credentials), not the raw URL.
            #expect(!lines[0].contains("postgres@"))
            #expect(lines[0].contains("0.25s"))
            #expect(lines[23].contains("q quit"))
            let current = try #require(Self.targetLine(screen, cluster.primary))
            #expect(isCurrentTarget(screen, hostPort(cluster.primary)))
            #expect(current.contains("primary"))
            #expect(!isCurrentTarget(screen, hostPort(standby)))
            #expect(screen.contains("no connection held longer than the threshold"))
            #expect(try pane.display("#{alternate_on} #{cursor_flag}") == "1 0")
        }

        @Test(
            "60×20 shows a one-line status and says the terminal is too small; 80×24 brings the layout back",
            .timeLimit(.minutes(2)))
        func resize() throws {
            let cluster = try SharedCluster.get()
            let standby = try #require(cluster.standby)
            let pane = try Self.dashboard(primary: cluster.primary, standby: standby)
            defer { pane.kill() }
            try pane.waitFor("the main view") { Self.mainViewIsComplete($0, current: cluster.primary) }

            try pane.resize(width: 60, height: 20)
            // Everything asserted below is waited for: a capture can catch tmux midway through drawing a frame.
            let small = try pane.waitFor("the one-line status at 60×20", timeout: .seconds(10)) {
                $0.contains("need 80×24 for the full view, have 60×20") && !$0.contains("Pool ")
                    && $0.contains("in use")
                    && $0.contains("leaks") && $0.contains("q quits")
            }
            #expect(!small.contains("Pool "))
            // The one-line status: health, in use, leaks, how to quit.
            #expect(small.contains("in use") && small.contains("leaks") && small.contains("q quits"), "\(small)")

            try pane.resize(width: 80, height: 24)
            let restored = try pane.waitFor("the main view again", timeout: .seconds(10)) {
                Self.mainViewIsComplete($0, current: cluster.primary) && !$0.contains("for the full view")
            }
            #expect(restored.split(separator: "\n", omittingEmptySubsequences: false).dropLast().count == 24)
        }

        @Test(
            "f to the standby is refused; after promote, f + pick + y switches and the screen shows it",
            .timeLimit(.minutes(3)))
        func manualFailover() throws {
            let cluster = try LocalCluster.start(.init(withStandby: true))
            defer { cluster.stop() }
            let standby = try #require(cluster.standby)
            let pane = try Self.dashboard(primary: cluster.primary, standby: standby)
            defer { pane.kill() }
            try pane.waitFor("the main view with the standby checked") { screen in
                Self.mainViewIsComplete(screen, current: cluster.primary)
                    && Self.targetLine(screen, standby)?.contains("standby") == true
            }

            // 1. The standby is still in recovery: the switch is refused and the reason is on screen.
            try Self.chooseInPicker(pane, standby)
            try pane.send("Enter")
            try pane.waitFor(all: ["Confirm", "Fail over to \(hostPort(standby))", "now?"], timeout: .seconds(30))
            try pane.send("y")
            // The whole refusal, not only its title: a capture can catch tmux midway through drawing a frame
            // (CI caught "Refused" over the half-replaced "Working…" popup, the reason not drawn yet).
            let refused = try pane.waitFor(
                all: ["Refused", "read-only standby", "promote it first"], timeout: .seconds(45))
            #expect(refused.contains("read-only standby"))
            #expect(refused.contains("promote it first"))
            try pane.send("Escape")
            let afterRefusal = try pane.waitFor("the main view after the refusal", timeout: .seconds(30)) {
                Self.mainViewIsComplete($0, current: cluster.primary) && !$0.contains("Enter/Esc close")
            }
            #expect(afterRefusal.split(separator: "\n").first?.contains("failovers 0") == true)

            // 2. Promoted, the standby is a primary too: the switch is made.
            try standby.promote()
            try pane.waitFor("the promoted standby to show as a primary") { screen in
                Self.targetLine(screen, standby)?.contains("primary") == true
            }
            try Self.chooseInPicker(pane, standby)
            try pane.send("Enter")
            try pane.waitFor(all: ["Confirm", "Fail over to \(hostPort(standby))"], timeout: .seconds(30))
            try pane.send("y")
            let switched = try pane.waitFor("the switch", timeout: .seconds(45)) {
                $0.contains("Switched") || $0.contains("Refused")
            }
            #expect(switched.contains("Switched"))
            try pane.send("Escape")
            let after = try pane.waitFor("the header and failover panel on the standby", timeout: .seconds(30)) {
                screen in
                let header = screen.split(separator: "\n").first ?? ""
                // Esc is decoded after ncurses' 25 ms escape delay: wait for the dialog to close too.
                return header.contains(hostPort(standby)) && header.contains("failovers 1")
                    && isCurrentTarget(screen, hostPort(standby)) && !screen.contains("Enter/Esc close")
            }
            #expect(after.contains("1 switch ·"))
            #expect(!isCurrentTarget(after, hostPort(cluster.primary)))
            #expect(Self.targetLine(after, cluster.primary)?.contains("primary") == true)
        }

        /// The Failover panel's row for `member`.
        static func targetLine(_ screen: String, _ member: Member) -> String? {
            failoverRow(screen, hostPort(member))
        }

        /// Opens the failover picker with `f` and moves its pointer (▶) to `member`'s row with j/k, reading the
        /// picker's rows from the screen.
        static func chooseInPicker(_ pane: TmuxPane, _ member: Member) throws {
            try pane.send("f")
            for _ in 0..<10 {
                let screen = try pane.waitFor("the failover picker", timeout: .seconds(10)) {
                    $0.contains("Fail over to…") && $0.contains("Enter choose")
                }
                let rows = pickerRows(screen)
                guard let target = rows.firstIndex(where: { $0.contains(hostPort(member)) }) else {
                    throw TmuxPane.CommandFailed(description: "\(hostPort(member)) is not in the picker:\n\(screen)")
                }
                guard let selected = rows.firstIndex(where: { $0.contains("▶") }) else {
                    throw TmuxPane.CommandFailed(description: "no row is selected in the picker:\n\(screen)")
                }
                if selected == target { return }
                let key = selected < target ? "j" : "k"
                for _ in 0..<abs(target - selected) { try pane.send(key) }
                try pane.waitFor("the picker pointer on \(hostPort(member))", timeout: .seconds(10)) { screen in
                    pickerRows(screen).first { $0.contains("▶") }?.contains(hostPort(member)) == true
                }
            }
            throw TmuxPane.CommandFailed(description: "could not move the picker to \(hostPort(member))")
        }

        /// The picker's rows: the lines between its title and its "Enter choose" line.
        static func pickerRows(_ screen: String) -> [String] {
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            guard let title = lines.firstIndex(where: { $0.contains("Fail over to…") }),
                let end = lines.firstIndex(where: { $0.contains("Enter choose") }), end > title
            else { return [] }
            return Array(lines[(title + 1)..<end])
        }
    }
}
