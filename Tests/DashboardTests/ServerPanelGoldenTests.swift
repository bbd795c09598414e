import ConnectionManager
import Foundation
import Testing

@testable import Dashboard

/// The Server panel, the server view and its confirmation, drawn from fixed snapshots and compared with golden
/// screens; plus the keys that lead there.
@Suite("Server panel and view")
struct ServerPanelGoldenTests {
    func check(_ name: String, _ state: DashboardState) {
        let buffer = DashboardView.render(state, glyphs: .unicode)
        let (ok, diff) = matchesGolden(name, buffer)
        #expect(ok, "\(name) differs from its golden file\n\(diff)")
    }

    /// The main screen, then Tab to the Server panel and Enter.
    func serverView(width: Int = 80, height: Int = 24) -> DashboardState {
        var state = Fixtures.state(Fixtures.blocked(), width: width, height: height)
        _ = state.update(.keyPressed(.tab))
        #expect(state.focus == .server)
        #expect(state.update(.keyPressed(.enter)) == [])
        return state
    }

    @Test(arguments: [(80, 24), (160, 48)])
    func blockedMain(size: (Int, Int)) {
        let state = Fixtures.state(Fixtures.blocked(), width: size.0, height: size.1)
        check("server-blocked-\(size.0)x\(size.1)", state)
        let text = goldenText(DashboardView.render(state))
        #expect(text.contains("8 BLOCKED"), "the header says so")
        #expect(text.contains("8 blocked by pid 4017 (your leak #17)"), "the panel names the blocker and the leak")
        #expect(text.contains("8 sessions blocked for up to 38s") || text.contains("8 sessions blocked"), "the hint")
    }

    @Test(arguments: [(80, 24), (160, 48)])
    func view(size: (Int, Int)) {
        let state = serverView(width: size.0, height: size.1)
        #expect(state.mode == .serverView(ServerBrowser(selected: 0, selectedPID: 4017)))
        check("server-view-\(size.0)x\(size.1)", state)
        let text = goldenText(DashboardView.render(state))
        #expect(!text.contains("\u{1B}") && !text.contains("\u{202E}") && !text.contains("\u{200B}"), "never raw")
    }

    @Test func confirmAndOutcome() {
        var state = serverView()
        _ = state.update(.keyPressed(.character("x")))
        #expect(
            state.mode
                == .confirm(
                    .terminateBackend(pid: 4017), returnTo: .serverView(ServerBrowser(selected: 0, selectedPID: 4017))))
        check("server-confirm-terminate-80x24", state)
        let question = ConfirmView(
            context: PanelContext(state: state, snapshot: state.snapshot!), action: .terminateBackend(pid: 4017)
        ).question()
        #expect(
            question
                == "Terminate the session pid 4017 (user app, application orders-api, your leak #17): SELECT * FROM orders WHERE customer_id = $1 FOR UPDATE?"
        )
        #expect(state.update(.keyPressed(.character("y"))) == [.perform(.terminateBackend(pid: 4017))])
        #expect(state.mode.isServerView)
        _ = state.update(
            .commandCompleted(
                .terminateBackend(pid: 4017),
                MonitorCommandOutcome(
                    succeeded: true,
                    message:
                        "Connection 17 (backend 4017) was ended on the server; its holder gets an error on next use.")))
        check("server-outcome-80x24", state)
    }

    @Test func cancelIsRefusedWithTheServersReason() {
        var state = serverView()
        _ = state.update(.keyPressed(.down))
        #expect(state.mode == .serverView(ServerBrowser(selected: 1, selectedPID: 5001)))
        _ = state.update(.keyPressed(.character("c")))
        #expect(
            state.mode
                == .confirm(
                    .cancelBackend(pid: 5001), returnTo: .serverView(ServerBrowser(selected: 1, selectedPID: 5001))))
        check("server-confirm-cancel-80x24", state)
        // n goes back without sending anything.
        #expect(state.update(.keyPressed(.character("n"))) == [])
        #expect(state.mode == .serverView(ServerBrowser(selected: 1, selectedPID: 5001)))
        _ = state.update(.keyPressed(.character("c")))
        #expect(state.update(.keyPressed(.character("y"))) == [.perform(.cancelBackend(pid: 5001))])
        _ = state.update(
            .commandCompleted(
                .cancelBackend(pid: 5001),
                MonitorCommandOutcome(
                    succeeded: false,
                    message:
                        "The server refused to cancel pid 5001 (bench, pgbench, \"UPDATE pgbench_accounts …\"): must be a superuser to cancel superuser query"
                )))
        check("server-refused-80x24", state)
    }

    @Test("the cursor follows its session when the order changes; Esc goes back; Tab skips Server without an overview")
    func cursorAndTab() {
        var state = serverView()
        _ = state.update(.keyPressed(.down))
        _ = state.update(.keyPressed(.down))
        let pid = state.mode.serverBrowser?.selectedPID
        var snap = Fixtures.blocked()
        snap.server?.sessions.reverse()
        _ = state.update(.tick(snap))
        #expect(state.mode.serverBrowser?.selectedPID == pid)
        #expect(snap.server?.sessions[state.mode.serverBrowser!.selected].pid == pid)
        _ = state.update(.keyPressed(.escape))
        #expect(state.mode == .main)

        var plain = Fixtures.state(Fixtures.overflow())
        _ = plain.update(.keyPressed(.tab))
        #expect(plain.focus == .failover)
    }
}
