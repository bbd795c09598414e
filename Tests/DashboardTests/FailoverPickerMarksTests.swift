import ConnectionManager
import Foundation
import Testing

@testable import Dashboard

@Suite("Failover picker marks refused targets")
struct FailoverPickerMarksTests {
    static func picker(_ snap: ManagerSnapshot, width: Int, height: Int) -> [String] {
        var state = Fixtures.state(snap, width: width, height: height)
        _ = state.update(.keyPressed(.character("f")))
        return DashboardView.render(state).lines
    }

    /// Issue 10: the current target and a standby are marked before Enter, with the setting that allows a standby.
    @Test(arguments: [(80, 24), (160, 48)])
    func currentAndStandbyAreMarkedWithTheSetting(size: (Int, Int)) {
        let lines = Self.picker(Fixtures.normal(), width: size.0, height: size.1)
        let top = lines.firstIndex { $0.contains("Fail over to…") }!
        let dialog = Array(lines[top...].prefix(7))
        let current = dialog.first { $0.contains("db1.internal") }
        let standby = dialog.first { $0.contains("db2.internal") }
        #expect(current?.contains("✗ current") == true, "\(dialog)")
        #expect(standby?.contains("✗ standby") == true, "\(dialog)")
        #expect(dialog.contains { $0.contains("DB_FAILOVER_ALLOW_READ_ONLY=true") }, "\(dialog)")
    }

    @Test func anUnreachableTargetIsMarked() {
        let down = TargetStatus(
            index: 1, url: Fixtures.standbyURL, role: .unreachable, healthy: false, isCurrent: false)
        let primary = TargetStatus(index: 2, url: Fixtures.standbyURL, role: .primary, healthy: true, isCurrent: false)
        #expect(FailoverPickerView.refusal(down) == "unreachable")
        #expect(FailoverPickerView.refusal(primary) == nil)
        // With DB_FAILOVER_ALLOW_READ_ONLY=true a standby is accepted, so it is not marked.
        let standby = TargetStatus(
            index: 1, url: "postgresql://db2/app", role: .standby, healthy: true, isCurrent: false)
        #expect(FailoverPickerView.refusal(standby) == "standby")
        #expect(FailoverPickerView.refusal(standby, allowsStandby: true) == nil)
    }
}
