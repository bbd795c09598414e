import ConnectionManager
import Foundation
import Testing

@testable import Dashboard

/// Lists: events fold and open in full; `/` filters the list in focus; `o` sorts the leak and session lists.
@Suite("Lists: event detail, folding, filters, sort keys")
struct ListTests {
    typealias S = DashboardState

    func press(_ state: inout S, _ keys: Key...) -> [DashboardEffect] {
        keys.flatMap { state.update(.keyPressed($0)) }
    }

    /// A long multi-line message, then 27 identical checkout timeouts (the newest last), then one more event.
    static let longMessage =
        "Connect to db2.internal:5432 failed: could not connect to server: Connection refused. Is the server "
        + "running on that host and accepting TCP/IP connections?\nThe pool retries in 5 s; the breaker opens "
        + "after 5 failures in a row.\tTab and \u{1B}[31mescape\u{202E} are shown as text."

    static func noisy() -> ManagerSnapshot {
        var snap = Fixtures.normal()
        var events = [PoolEvent(at: Fixtures.at(-900), kind: .connectFailed, message: longMessage)]
        for i in 0..<27 {
            events.append(
                PoolEvent(
                    at: Fixtures.at(Double(-600 + i * 10)), kind: .poolTimeout,
                    message: "A checkout timed out after 30 s (pool saturated)."))
        }
        // Same message, other kind: not folded into the run above.
        events.append(
            PoolEvent(at: Fixtures.at(-60), kind: .info, message: "A checkout timed out after 30 s (pool saturated)."))
        events.append(PoolEvent(at: Fixtures.at(-30), kind: .evicted, message: "Evicted 2 idle connections."))
        snap.events = events
        return snap
    }

    /// The main view with the Events panel focused.
    func eventsFocused(width: Int = 80, height: Int = 24) -> S {
        var s = Fixtures.state(Self.noisy(), width: width, height: height)
        _ = press(&s, .tab, .tab)
        #expect(s.focus == .events)
        return s
    }

    // MARK: - Folding and the event detail

    @Test func consecutiveRepeatsFoldNewestFirst() {
        let groups = EventGroup.fold(Self.noisy().events)
        #expect(groups.map(\.count) == [1, 1, 27, 1])
        #expect(groups.map(\.newest.kind) == [.evicted, .info, .poolTimeout, .connectFailed])
        #expect(groups[2].newest.at == Fixtures.at(-340), "the newest time of the run")
        #expect(groups[2].firstAt == Fixtures.at(-600))
        // Not consecutive: two runs.
        let a = PoolEvent(at: Fixtures.at(0), kind: .info, message: "a")
        let b = PoolEvent(at: Fixtures.at(1), kind: .info, message: "b")
        #expect(EventGroup.fold([a, b, a]).map(\.count) == [1, 1, 1])
        #expect(EventGroup.fold([]).isEmpty)
    }

    @Test func enterOnEventsOpensTheSelectedEventAndEscCloses() {
        var s = eventsFocused()
        #expect(press(&s, .down, .down) == [])
        #expect(s.eventScroll == 2)
        #expect(press(&s, .enter) == [])
        guard case .eventDetail(let detail) = s.mode else {
            Issue.record("Enter on Events opens the event detail, got \(s.mode)")
            return
        }
        #expect(detail.group.count == 27)
        #expect(s.context == .eventDetail)
        _ = press(&s, .escape)
        #expect(s.mode == .main)
        #expect(s.eventScroll == 2, "the selection is kept")
    }

    @Test func eventDetailScrollsWithinItsText() {
        var s = eventsFocused(width: 80, height: 24)
        _ = press(&s, .down, .down, .down, .enter)
        guard case .eventDetail(let opened) = s.mode else {
            Issue.record("expected the event detail")
            return
        }
        #expect(opened.group.newest.kind == .connectFailed)
        let lines = EventDetailView.lines(opened.group, width: EventDetailView.textWidth(width: 80)).count
        let page = EventDetailView.textRows(height: 24)
        _ = press(&s, .pageDown, .pageDown, .down)
        if case .eventDetail(let d) = s.mode { #expect(d.scroll == max(0, lines - page)) }
        _ = press(&s, .pageUp, .pageUp, .up)
        if case .eventDetail(let d) = s.mode { #expect(d.scroll == 0) }
        // A short terminal: the text no longer fits, so it scrolls.
        var short = eventsFocused(width: 80, height: 24)
        _ = short.update(.resized(width: 80, height: 9))
        _ = press(&short, .down, .down, .down, .enter, .down)
        if case .eventDetail(let d) = short.mode { #expect(d.scroll == 1) } else { Issue.record("not open") }
    }

    @Test func enterOnAnEmptyEventListDoesNothing() {
        var snap = Fixtures.normal()
        snap.events = []
        var s = Fixtures.state(snap)
        _ = press(&s, .tab, .tab)
        #expect(press(&s, .enter) == [])
        #expect(s.mode == .main)
    }

    @Test func eventScrollCountsFoldedRows() {
        var s = eventsFocused()
        _ = press(&s, .pageDown, .pageDown, .pageDown)
        #expect(s.eventScroll == 3, "4 rows after folding, not 30 events")
    }
}

/// The golden screens of the list features (regenerate with `POOLTOP_UPDATE_GOLDEN=1`).
@Suite("Golden screens: lists")
struct ListGoldenTests {
    func check(_ name: String, _ state: DashboardState) {
        let buffer = DashboardView.render(state, glyphs: .unicode)
        let (ok, diff) = matchesGolden(name, buffer)
        #expect(ok, "\(name) differs from its golden file\n\(diff)")
    }

    func press(_ state: inout DashboardState, _ keys: Key...) {
        for key in keys { _ = state.update(.keyPressed(key)) }
    }

    @Test func eventsFolded() {
        var s = Fixtures.state(ListTests.noisy())
        press(&s, .tab, .tab)
        check("events-folded-80x24", s)
        let text = goldenText(DashboardView.render(s))
        #expect(text.contains("11:54:20 ✗ A checkout timed out … ×27"), "one row, the newest time, the count kept")
        #expect(text.contains("▶11:59:30 · Evicted"), "the selected row is marked by a glyph")
        #expect(text.contains("11:59:00 · A checkout timed out"), "same message, other kind: its own row")
    }

    @Test(arguments: [(80, 24), (160, 48)])
    func eventDetail(size: (Int, Int)) {
        var s = Fixtures.state(ListTests.noisy(), width: size.0, height: size.1)
        press(&s, .tab, .tab, .down, .down, .down, .enter)
        check("event-detail-\(size.0)x\(size.1)", s)
        let text = goldenText(DashboardView.render(s))
        #expect(!text.contains("\u{1B}") && !text.contains("\u{202E}"), "sanitized through Text's display form")
        #expect(text.contains("accepting"), "the full text, wrapped")
    }

    @Test func eventDetailFolded() {
        var s = Fixtures.state(ListTests.noisy())
        press(&s, .tab, .tab, .down, .down, .enter)
        check("event-detail-folded-80x24", s)
        #expect(goldenText(DashboardView.render(s)).contains("×27 since 11:50:00"))
    }
}

/// `/` filters the list in focus: typing narrows it at once, Enter keeps the filter, Esc clears it.
@Suite("Lists: filters")
struct ListFilterTests {
    typealias S = DashboardState

    func press(_ state: inout S, _ keys: Key...) -> [DashboardEffect] {
        keys.flatMap { state.update(.keyPressed($0)) }
    }

    func type(_ state: inout S, _ text: String) {
        for c in text { _ = state.update(.keyPressed(.character(c))) }
    }

    @Test func typingNarrowsTheLeaksCaseInsensitivelyEnterKeepsEscClears() {
        var s = Fixtures.state(Fixtures.overflow())
        #expect(press(&s, .character("/")) == [])
        #expect(s.context == .filterInput)
        #expect(s.filterEditing == .leaks)
        // q, ? and j are text while typing: nothing quits, no help.
        type(&s, "CARTS")
        #expect(s.visibleLeaks.map(\.info.connectionID) == [23], "matches the LAST SQL column, any case")
        _ = press(&s, .backspace, .backspace, .backspace, .backspace, .backspace)
        #expect(s.visibleLeaks.count == 3)
        type(&s, "q")
        #expect(s.visibleLeaks.isEmpty, "q is typed, not quit")
        _ = press(&s, .backspace)
        type(&s, "Worker")
        #expect(s.visibleLeaks.map(\.info.connectionID) == [17], "the THREAD column")
        #expect(press(&s, .enter) == [])
        #expect(s.context == .main)
        #expect(s.filter(.leaks) == "Worker", "Enter keeps it")
        // The selection and Enter act on the filtered list.
        #expect(s.selectedLeakReport?.info.connectionID == 17)
        #expect(press(&s, .down) == [])
        #expect(s.selectedLeak == 0, "one row: the selection stays on it")
        // `/` again edits the kept filter; Esc clears it.
        _ = press(&s, .character("/"))
        #expect(s.filters[.leaks] == "Worker")
        _ = press(&s, .escape)
        #expect(s.filter(.leaks) == nil)
        #expect(s.context == .main)
        #expect(s.visibleLeaks.count == 3)
    }

    @Test func theSelectionStaysInRangeWhenTheListNarrows() {
        var s = Fixtures.state(Fixtures.overflow())
        _ = press(&s, .down, .down)
        #expect(s.selectedLeak == 2)
        _ = press(&s, .character("/"))
        type(&s, "idle in")
        #expect(s.visibleLeaks.count == 2)
        #expect(s.selectedLeak == 1)
    }

    @Test func anEmptyFilterKeptIsNoFilter() {
        var s = Fixtures.state(Fixtures.overflow())
        _ = press(&s, .character("/"), .enter)
        #expect(s.filters[.leaks] == nil)
        #expect(s.context == .main)
    }

    @Test func eventsFilterOverTimeAndMessage() {
        var s = Fixtures.state(ListTests.noisy())
        _ = press(&s, .tab, .tab, .character("/"))
        #expect(s.filterEditing == .events)
        type(&s, "checkout")
        #expect(s.visibleEvents.map(\.count) == [1, 27], "the folded rows that mention it")
        _ = press(&s, .enter)
        type(&s, "x")
        #expect(s.filter(.events) == "checkout", "typing after Enter does not edit the filter")
        _ = press(&s, .character("/"), .backspace)
        type(&s, "T 11:45")
        _ = press(&s, .escape, .character("/"))
        type(&s, "11:45")
        #expect(s.visibleEvents.map(\.newest.kind) == [.connectFailed], "the time column")
    }

    @Test func slashOnAPanelWithoutAListSaysWhatItFilters() {
        var s = Fixtures.state(Fixtures.overflow())
        _ = press(&s, .tab)
        #expect(s.focus == .failover)
        _ = press(&s, .character("/"))
        #expect(s.filterEditing == nil)
        #expect(s.status?.isError == true)
    }

    @Test func serverViewFilterNarrowsSessionsAndTheCursorFollows() {
        var s = Fixtures.state(Fixtures.blocked())
        _ = press(&s, .tab, .enter)
        #expect(s.mode.isServerView)
        _ = press(&s, .character("/"))
        #expect(s.filterEditing == .sessions)
        type(&s, "ORDERS-API")
        #expect(s.visibleSessions.map(\.pid) == [4017, 4100], "the APP column, any case")
        _ = press(&s, .down)
        #expect(s.visibleSessions.count == 2, "j is typed while the input is open")
        _ = press(&s, .enter, .down)
        #expect(s.mode == .serverView(ServerBrowser(selected: 1, selectedPID: 4100)))
        // x acts on the selected session of the filtered list.
        _ = press(&s, .character("x"))
        #expect(
            s.mode
                == .confirm(
                    .terminateBackend(pid: 4100), returnTo: .serverView(ServerBrowser(selected: 1, selectedPID: 4100))))
        _ = press(&s, .character("n"), .character("/"), .escape)
        #expect(s.visibleSessions.count == s.snapshot?.server?.sessions.count)
        #expect(s.mode.serverBrowser?.selectedPID == 4100, "the cursor follows pid 4100")
        #expect(s.visibleSessions[s.mode.serverBrowser?.selected ?? 0].pid == 4100)
    }

    @Test func ticksKeepTheFilter() {
        var s = Fixtures.state(Fixtures.overflow())
        _ = press(&s, .character("/"))
        type(&s, "batch")
        _ = s.update(.tick(Fixtures.overflow()))
        #expect(s.visibleLeaks.map(\.info.connectionID) == [31])
        #expect(s.filterEditing == .leaks)
    }
}

@Suite("Golden screens: filters")
struct ListFilterGoldenTests {
    func check(_ name: String, _ state: DashboardState) {
        let buffer = DashboardView.render(state, glyphs: .unicode)
        let (ok, diff) = matchesGolden(name, buffer)
        #expect(ok, "\(name) differs from its golden file\n\(diff)")
    }

    func press(_ state: inout DashboardState, _ keys: Key...) {
        for key in keys { _ = state.update(.keyPressed(key)) }
    }

    func type(_ state: inout DashboardState, _ text: String) {
        for c in text { _ = state.update(.keyPressed(.character(c))) }
    }

    @Test func typingALeakFilter() {
        var s = Fixtures.state(Fixtures.overflow())
        press(&s, .character("/"))
        type(&s, "idle in")
        check("filter-typing-80x24", s)
        let text = goldenText(DashboardView.render(s))
        #expect(text.contains("filter leaks: /idle in_"), "the input line at the bottom")
        #expect(!text.contains("batch-export"), "narrowed as typed")
    }

    @Test(arguments: [(80, 24), (160, 48)])
    func keptSessionFilter(size: (Int, Int)) {
        var s = Fixtures.state(Fixtures.blocked(), width: size.0, height: size.1)
        press(&s, .tab, .enter, .character("/"))
        type(&s, "exclusive")
        press(&s, .enter)
        check("filter-sessions-\(size.0)x\(size.1)", s)
        let text = goldenText(DashboardView.render(s))
        #expect(text.contains("/exclusive"), "the kept filter in the title")
        #expect(s.visibleSessions.count == 7, "the 7 sessions waiting for an Exclusive lock")
    }

    @Test func noEventMatches() {
        var s = Fixtures.state(ListTests.noisy())
        press(&s, .tab, .tab, .character("/"))
        type(&s, "nothing like it")
        press(&s, .enter)
        check("filter-events-none-80x24", s)
        #expect(goldenText(DashboardView.render(s)).contains("no event matches /nothing like it"))
    }
}

/// `o` cycles the order of the leak list and of the server view's sessions; the title names it.
@Suite("Lists: sort keys")
struct ListSortTests {
    typealias S = DashboardState

    func press(_ state: inout S, _ keys: Key...) -> [DashboardEffect] {
        keys.flatMap { state.update(.keyPressed($0)) }
    }

    @Test func oCyclesTheLeakOrderAndTheCursorStaysOnItsLeak() {
        var s = Fixtures.state(Fixtures.overflow())
        #expect(s.visibleLeaks.map(\.info.connectionID) == [17, 23, 31], "held: the oldest first")
        _ = press(&s, .down)
        #expect(s.selectedLeakReport?.info.connectionID == 23)
        #expect(press(&s, .character("o")) == [])
        #expect(s.leakSort == .thread)
        // batch-export, http-handler-12, worker-3
        #expect(s.visibleLeaks.map(\.info.connectionID) == [31, 23, 17])
        #expect(s.selectedLeakReport?.info.connectionID == 23, "the cursor follows the leak")
        _ = press(&s, .character("o"))
        #expect(s.leakSort == .sql)
        // SELECT …, UPDATE …, then the leak without SQL.
        #expect(s.visibleLeaks.map(\.info.connectionID) == [17, 23, 31])
        _ = press(&s, .character("o"))
        #expect(s.leakSort == .held)
        #expect(press(&s, .enter) == [.loadStack(connectionID: 23)], "Enter opens the leak under the cursor")
    }

    @Test func oElsewhereSaysWhatItSorts() {
        var s = Fixtures.state(Fixtures.overflow())
        _ = press(&s, .tab, .character("o"))
        #expect(s.leakSort == .held && s.sessionSort == .chains)
        #expect(s.status?.isError == true)
    }

    @Test func oCyclesTheSessionOrderInTheServerView() {
        var s = Fixtures.state(Fixtures.blocked())
        _ = press(&s, .tab, .enter)
        let chains = s.visibleSessions.map(\.pid)
        #expect(chains.first == 4017, "chains: the blocker first")
        _ = press(&s, .character("o"))
        #expect(s.sessionSort == .age)
        let ages = s.visibleSessions.map { ServerText.age($0) ?? -1 }
        #expect(ages == ages.sorted(by: >), "the oldest first")
        #expect(s.visibleSessions.first?.pid == 6002, "idle 20m")
        #expect(s.mode.serverBrowser?.selectedPID == 4017, "the cursor stays on its session")
        _ = press(&s, .character("o"))
        #expect(s.sessionSort == .state)
        let states = s.visibleSessions.map { ServerText.state($0) }
        #expect(states == states.sorted())
        _ = press(&s, .character("o"))
        #expect(s.sessionSort == .application)
        let apps = s.visibleSessions.map { ($0.application ?? "").lowercased() }
        #expect(apps == apps.sorted())
        _ = press(&s, .character("o"))
        #expect(s.sessionSort == .chains)
        #expect(s.visibleSessions.map(\.pid) == chains)
    }

    @Test func sortAndFilterTogether() {
        var s = Fixtures.state(Fixtures.overflow())
        _ = press(&s, .character("o"), .character("/"))
        for c in "idle in" { _ = s.update(.keyPressed(.character(c))) }
        _ = press(&s, .enter)
        #expect(s.visibleLeaks.map(\.info.connectionID) == [23, 17], "filtered, then sorted by thread")
    }
}

@Suite("Golden screens: sort keys")
struct ListSortGoldenTests {
    func check(_ name: String, _ state: DashboardState) {
        let buffer = DashboardView.render(state, glyphs: .unicode)
        let (ok, diff) = matchesGolden(name, buffer)
        #expect(ok, "\(name) differs from its golden file\n\(diff)")
    }

    @Test func leaksByThread() {
        var s = Fixtures.state(Fixtures.overflow())
        _ = s.update(.keyPressed(.character("o")))
        check("sort-leaks-thread-80x24", s)
        #expect(goldenText(DashboardView.render(s)).contains("Leaks 3 · sort thread"))
    }

    @Test(arguments: [(80, 24), (160, 48)])
    func sessionsByAge(size: (Int, Int)) {
        var s = Fixtures.state(Fixtures.blocked(), width: size.0, height: size.1)
        for key: Key in [.tab, .enter, .character("o")] { _ = s.update(.keyPressed(key)) }
        check("sort-sessions-age-\(size.0)x\(size.1)", s)
        #expect(goldenText(DashboardView.render(s)).contains("· sort age"))
    }
}
