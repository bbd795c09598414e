import ConnectionManager
import Foundation
import Testing

@testable import Dashboard

@Suite("Hints under a status message")
struct HintsUnderStatusTests {
    /// Issue 10: a command's 10 s status message never hides a critical hint (80×24 shows one hint row).
    @Test func aStatusMessageNeverHidesACriticalHint() {
        var state = Fixtures.state(Fixtures.unhealthy())
        state.status = StatusMessage(text: "Evicted 3 idle connections.", isError: false, at: state.latest?.takenAt)
        #expect(state.visibleStatus != nil)
        let context = PanelContext(state: state, snapshot: state.snapshot!)
        let lines = HintsPanel.lines(context)
        #expect(lines.first?.style.role == .critical)
        #expect(lines.first?.text.contains("health checks failing") == true)
        // At 80×24 the one hint row shows the critical hint, with "+N more" for the rest (the status among them).
        let screen = DashboardView.render(state).lines
        #expect(screen[1].contains("✗ Connection refused"), "\(screen[1])")
        #expect(!screen[1].contains("Evicted"), "\(screen[1])")
        // Without a critical hint the status comes first, as before.
        var calm = Fixtures.state(Fixtures.normal())
        calm.status = StatusMessage(text: "Evicted 3 idle connections.", isError: false, at: calm.latest?.takenAt)
        #expect(DashboardView.render(calm).lines[1].contains("Evicted 3 idle connections."))
    }
}
