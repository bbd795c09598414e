import ConnectionManager
import Foundation
import Testing

@testable import Dashboard

@Suite("update: keys, modes, effects")
struct DashboardStateUpdateTests {
    typealias S = DashboardState

    func main() -> S { Fixtures.state(Fixtures.overflow()) }

    func press(_ state: inout S, _ keys: Key...) -> [DashboardEffect] {
        keys.flatMap { state.update(.keyPressed($0)) }
    }

    // Every binding in every context it lists is handled (no crash, deterministic), and keys outside
    // their contexts do nothing.
    @Test(arguments: KeyContext.allCases)
    func everyKeyInEveryContext(context: KeyContext) {
        let base = state(in: context)
        #expect(base.context == context)
        for binding in base.keyTable {
            for key in binding.keys {
                var s = base
                let effects = s.update(.keyPressed(key))
                let active = base.activeBindings.contains { $0.keys.contains(key) }
                // While a filter is typed, characters are text (not bindings).
                let typed = context == .filterInput && { if case .character = key { true } else { false } }()
                if !active && !typed {
                    #expect(s == base, "key \(key) should do nothing in \(context)")
                    #expect(effects.isEmpty)
                }
            }
        }
    }

    func state(in context: KeyContext) -> S {
        var s = main()
        switch context {
        case .main: break
        case .leakDetail: _ = press(&s, .enter)
        case .failoverPicker: _ = press(&s, .character("f"))
        case .confirm: _ = press(&s, .character("s"))
        case .help: _ = press(&s, .character("?"))
        case .outcome: _ = press(&s, .character("f"), .enter, .character("y"))
        case .serverView:
            s = Fixtures.state(Fixtures.blocked())
            _ = press(&s, .tab, .enter)
        case .eventDetail: _ = press(&s, .tab, .tab, .enter)
        case .filterInput: _ = press(&s, .character("/"))
        }
        return s
    }

    /// The expected result of each key in the main view (leaks panel focused, 3 leaks).
    static let mainCases: [(Key, [DashboardEffect], String)] = [
        (.character("q"), [.quit], "main"),
        // Familiar keys from htop and pg_activity: F10 quits, F1 helps, Space pauses.
        (.function(10), [.quit], "main"),
        (.function(1), [], "help"),
        (.character(" "), [], "main"),
        (.character("?"), [], "help"),
        (.enter, [.loadStack(connectionID: 17)], "leakDetail"),
        (.escape, [], "main"),
        (.character("f"), [], "failoverPicker"),
        (.character("x"), [], "confirm"),
        (.character("s"), [], "confirm"),
        (.character("e"), [.perform(.evictIdle)], "main"),
        (.character("p"), [], "main"),
        (.character("+"), [.changeRefresh(.milliseconds(500))], "main"),
        (.character("-"), [.changeRefresh(.seconds(2))], "main"),
        (.character("t"), [.applyTheme("dark-256")], "main"),
        (.character("K"), [], "confirm"),
        (.character("y"), [], "main"),
    ]

    @Test(arguments: mainCases)
    func mainViewKey(key: Key, effects: [DashboardEffect], context: String) {
        var s = main()
        #expect(s.update(.keyPressed(key)) == effects)
        #expect(s.context.rawValue == context)
    }

    @Test func panelsCycleWithTabAndArrows() {
        var s = main()
        #expect(s.focus == .leaks)
        _ = press(&s, .tab)
        #expect(s.focus == .failover)
        _ = press(&s, .right)
        #expect(s.focus == .events)
        _ = press(&s, .tab)
        #expect(s.focus == .leaks)
        _ = press(&s, .backTab)
        #expect(s.focus == .events)
        _ = press(&s, .left)
        #expect(s.focus == .failover)
    }

    @Test func rowsMoveAndClamp() {
        var s = main()
        _ = press(&s, .character("j"), .down, .down, .down)
        #expect(s.selectedLeak == 2)
        _ = press(&s, .character("k"))
        #expect(s.selectedLeak == 1)
        _ = press(&s, .up, .up, .up)
        #expect(s.selectedLeak == 0)
        _ = press(&s, .tab, .down, .down, .down)
        #expect(s.selectedTarget == 1)
        _ = press(&s, .tab, .down, .down)
        #expect(s.eventScroll == 2)
    }

    @Test func spacePausesLikePgActivity() {
        var s = main()
        _ = s.update(.keyPressed(.character(" ")))
        #expect(s.isPaused)
        _ = s.update(.keyPressed(.character(" ")))
        #expect(!s.isPaused)
    }

    @Test func pauseFreezesTheSnapshotButSelectionStillMoves() {
        var s = main()
        _ = press(&s, .character("p"))
        #expect(s.isPaused)
        var newer = Fixtures.normal()
        newer.takenAt = Fixtures.at(5)
        _ = s.update(.tick(newer))
        #expect(s.snapshot == Fixtures.overflow())
        #expect(s.latest == newer)
        _ = press(&s, .down)
        #expect(s.selectedLeak == 1)
        // Actions work on the frozen view: x targets the frozen leak #23.
        _ = press(&s, .character("x"))
        #expect(s.mode == .confirm(.terminateLeak(connectionID: 23), returnTo: .main))
        #expect(press(&s, .character("y")) == [.perform(.terminateLeak(connectionID: 23))])
        _ = press(&s, .character("p"))
        #expect(!s.isPaused)
        #expect(s.snapshot == newer)
        #expect(s.selectedLeak == 0, "clamped: the newer snapshot has no leaks")
    }

    @Test(arguments: [Key.character("n"), Key.escape])
    func confirmCancels(key: Key) {
        var s = main()
        _ = press(&s, .character("x"))
        #expect(press(&s, key).isEmpty)
        #expect(s.mode == .main)
    }

    @Test func confirmIgnoresOtherKeys() {
        var s = main()
        _ = press(&s, .character("s"))
        let before = s
        #expect(press(&s, .character("q"), .character("e"), .enter).isEmpty)
        #expect(s == before)
    }

    @Test func suspendAndResumeAreConfirmed() {
        var s = main()
        _ = press(&s, .character("s"))
        #expect(s.mode == .confirm(.suspend, returnTo: .main))
        #expect(press(&s, .character("y")) == [.perform(.suspend)])
        var suspended = Fixtures.overflow()
        suspended.metrics.isSuspended = true
        _ = s.update(.tick(suspended))
        _ = press(&s, .character("s"))
        #expect(press(&s, .character("y")) == [.perform(.resume)])
    }

    @Test func failoverFlow() {
        var s = Fixtures.state(Fixtures.normal())
        _ = press(&s, .character("f"))
        #expect(s.mode == .failoverPicker(selected: 2), "preselects the healthy standby")
        _ = press(&s, .up, .up, .up)
        #expect(s.mode == .failoverPicker(selected: 0))
        _ = press(&s, .enter)
        #expect(s.mode == .confirm(.failover(target: nil), returnTo: .failoverPicker(selected: 0)))
        _ = press(&s, .character("n"))
        #expect(s.mode == .failoverPicker(selected: 0))
        _ = press(&s, .down, .enter)
        #expect(press(&s, .character("y")) == [.perform(.failover(toTarget: 0))])
        guard case .outcome(let dialog) = s.mode else {
            Issue.record("expected the outcome dialog")
            return
        }
        #expect(dialog.outcome == nil)
        let outcome = MonitorCommandOutcome(succeeded: true, message: "Switched to db1.")
        _ = s.update(.commandCompleted(.failover(toTarget: 0), outcome))
        #expect(s.mode == .outcome(OutcomeDialog(title: dialog.title, outcome: outcome)))
        _ = press(&s, .enter)
        #expect(s.mode == .main)
    }

    @Test func enterOnFailoverPanelOpensPickerOnThatTarget() {
        var s = main()
        _ = press(&s, .tab, .down, .enter)
        #expect(s.mode == .failoverPicker(selected: 2))
    }

    @Test func leakDetailScrollsAndCloses() {
        var s = main()
        #expect(press(&s, .enter) == [.loadStack(connectionID: 17)])
        _ = s.update(.stackLoaded(connectionID: 99, frames: Fixtures.stack()))
        guard case .leakDetail(let loading) = s.mode else { return #expect(Bool(false)) }
        #expect(loading.frames == nil, "a stack for another connection is ignored")
        _ = s.update(.stackLoaded(connectionID: 17, frames: Fixtures.stack()))
        _ = press(&s, .character("j"), .down)
        guard case .leakDetail(let d1) = s.mode else { return #expect(Bool(false)) }
        #expect(d1.scroll == 2)
        _ = press(&s, .pageDown, .pageDown, .pageDown)
        guard case .leakDetail(let d2) = s.mode else { return #expect(Bool(false)) }
        // 24 frames, the 2 library ones folded into one row: 23 rows.
        #expect(d2.scroll == 23 - LeakDetailView.stackRows(height: 24), "clamped to the last page")
        _ = press(&s, .pageUp, .pageUp, .pageUp)
        guard case .leakDetail(let d3) = s.mode else { return #expect(Bool(false)) }
        #expect(d3.scroll == 0)
        _ = press(&s, .character("x"))
        #expect(s.context == .confirm)
        _ = press(&s, .escape)
        #expect(s.context == .leakDetail)
        _ = press(&s, .escape)
        #expect(s.mode == .main)
    }

    @Test func leakDetailNoticesTheLeakWasReturned() {
        var s = main()
        _ = press(&s, .enter)
        _ = s.update(.tick(Fixtures.normal()))
        guard case .leakDetail(let d) = s.mode else { return #expect(Bool(false)) }
        #expect(d.isGone)
    }

    @Test func refreshStepsClamp() {
        var s = main()
        #expect(s.refreshInterval == .seconds(1))
        #expect(press(&s, .character("+")) == [.changeRefresh(.milliseconds(500))])
        #expect(press(&s, .character("=")) == [.changeRefresh(.milliseconds(250))])
        #expect(press(&s, .character("+")).isEmpty)
        #expect(s.refreshInterval == .milliseconds(250))
        #expect(s.status?.text.contains("fastest") == true)
        _ = press(&s, .character("-"), .character("-"), .character("-"), .character("-"))
        #expect(s.refreshInterval == .seconds(5))
        #expect(press(&s, .character("-")).isEmpty)
        #expect(s.refreshInterval == .seconds(5))
    }

    @Test func customRefreshJoinsTheSteps() {
        let s = DashboardState(refresh: .seconds(3))
        #expect(s.refreshSteps.contains(.seconds(3)))
        #expect(s.refreshInterval == .seconds(3))
    }

    @Test func themesCycleThroughTheShippedOnes() {
        var s = main()
        var seen: [DashboardEffect] = []
        for _ in 0..<5 { seen += press(&s, .character("t")) }
        #expect(seen == DashboardState.shippedThemes.dropFirst().map { .applyTheme($0) } + [.applyTheme("default")])
        var mono = DashboardState(colorsDisabled: true)
        #expect(mono.update(.keyPressed(.character("t"))).isEmpty)
    }

    @Test func helpToggles() {
        var s = main()
        _ = press(&s, .character("?"))
        #expect(s.context == .help)
        #expect(press(&s, .character("f")).isEmpty, "f does nothing under help")
        _ = press(&s, .character("?"))
        #expect(s.context == .main)
        _ = press(&s, .enter, .character("?"), .escape)
        #expect(s.context == .leakDetail, "Esc closes help first")
    }

    @Test func demoKeyIsConfirmedThenRun() {
        var s = main()
        _ = press(&s, .character("K"))
        #expect(s.mode == .confirm(.demo(0), returnTo: .main))
        #expect(press(&s, .character("y")) == [.runDemoAction(0)])
        _ = s.update(.demoActionCompleted(index: 0, MonitorCommandOutcome(succeeded: false, message: "No standby.")))
        #expect(s.status?.text == "No standby.")
        #expect(s.status?.isError == true)
    }

    @Test func noDemoKeyWithoutDemoActions() {
        var s = DashboardState()
        _ = s.update(.tick(Fixtures.overflow()))
        #expect(s.update(.keyPressed(.character("K"))).isEmpty)
        #expect(s.mode == .main)
    }

    @Test func xWithoutALeakExplains() {
        var s = Fixtures.state(Fixtures.normal())
        #expect(press(&s, .character("x")).isEmpty)
        #expect(s.mode == .main)
        #expect(s.status?.isError == true)
    }

    @Test func resizeIsAMessage() {
        var s = main()
        _ = s.update(.resized(width: 120, height: 40))
        #expect(s.width == 120 && s.height == 40)
        #expect(DashboardView.render(s).width == 120)
    }

    @Test func statusFadesAfterTenSecondsOfSnapshots() {
        var s = main()
        _ = press(&s, .character("e"))
        #expect(s.visibleStatus != nil)
        var later = Fixtures.overflow()
        later.takenAt = Fixtures.at(11)
        _ = s.update(.tick(later))
        #expect(s.visibleStatus == nil)
    }

    @Test func footerAndHelpComeFromTheKeyTable() {
        var s = main()
        let footer = DashboardView.render(s).lines[23]
        for b in s.activeBindings {
            guard let f = b.footer, footer.count > 70 else { continue }
            if footer.contains(f) { continue }
            // Entries that did not fit are at the end of the list, never in the middle.
            let later = s.activeBindings.drop { $0 != b }.compactMap(\.footer)
            #expect(later.allSatisfy { !footer.contains($0) })
            break
        }
        _ = press(&s, .character("?"))
        let screen = DashboardView.render(s).lines.joined(separator: "\n")
        for b in s.keyTable { #expect(screen.contains(b.label)) }
    }
}
