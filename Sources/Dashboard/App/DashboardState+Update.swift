import PoolModel

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension DashboardState {
    /// Applies one message; returns the work the shell must do. Pure: no clock, no I/O.
    public mutating func update(_ message: DashboardMessage) -> [DashboardEffect] {
        switch message {
        case .keyPressed(let key):
            guard let binding = keyTable.first(where: { $0.contexts.contains(context) && $0.keys.contains(key) })
            else {
                if let list = filterEditing, case .character(let c) = key { type(c, into: list) }
                return []
            }
            return perform(binding.action)
        case .tick(let snap):
            receive(snap)
            return []
        case .sourceReported(let description, let status):
            source = description
            sourceStatus = status
            return []
        case .resized(let w, let h):
            width = max(0, w)
            height = max(0, h)
            return []
        case .commandCompleted(let command, let outcome):
            if case .failover = command, case .outcome(var dialog) = mode {
                dialog.outcome = outcome
                mode = .outcome(dialog)
            }
            setStatus(outcome.message, isError: !outcome.succeeded)
            return []
        case .demoActionCompleted(_, let outcome):
            setStatus(outcome.message, isError: !outcome.succeeded)
            return []
        case .stackLoaded(let id, let frames):
            if case .leakDetail(var detail) = mode, detail.leak.info.connectionID == id {
                detail.frames = frames
                mode = .leakDetail(detail)
            }
            return []
        case .themeFailed(let text):
            setStatus(text, isError: true)
            return []
        }
    }

    /// Free function form for callers that prefer `update(&state, message)`.
    public static func update(_ state: inout DashboardState, _ message: DashboardMessage) -> [DashboardEffect] {
        state.update(message)
    }

    // MARK: - Snapshots

    private mutating func receive(_ snap: ManagerSnapshot) {
        latest = snap
        guard !isPaused else { return }
        snapshot = snap
        if snap.metrics.utilization >= Hints.highUtilization {
            if highUtilizationSince == nil { highUtilizationSince = snap.takenAt }
        } else {
            highUtilizationSince = nil
        }
        clampSelections()
        if case .leakDetail(var detail) = mode {
            if let fresh = snap.leaks.first(where: { $0.info.connectionID == detail.leak.info.connectionID }) {
                detail.leak = fresh
                detail.isGone = false
            } else {
                detail.isGone = true
            }
            mode = .leakDetail(detail)
        }
        if case .serverView(let browser) = mode { mode = .serverView(follow(browser)) }
    }

    /// The browser with its cursor on the same session as before (by pid), else on the same row, kept in range.
    private func follow(_ browser: ServerBrowser) -> ServerBrowser {
        let sessions = visibleSessions
        var next = browser
        if let pid = browser.selectedPID, let i = sessions.firstIndex(where: { $0.pid == pid }) {
            next.selected = i
        }
        next.selected = max(0, min(next.selected, sessions.count - 1))
        next.selectedPID = sessions.indices.contains(next.selected) ? sessions[next.selected].pid : nil
        return next
    }

    private mutating func clampSelections() {
        let leaks = visibleLeaks.count
        selectedLeak = max(0, min(selectedLeak, leaks - 1))
        let targets = snapshot?.failover.targets.count ?? 0
        selectedTarget = max(0, min(selectedTarget, targets - 1))
        let events = visibleEvents.count
        eventScroll = max(0, min(eventScroll, events - 1))
    }

    private mutating func setStatus(_ text: String, isError: Bool) {
        status = StatusMessage(text: text, isError: isError, at: latest?.takenAt)
    }

    // MARK: - Actions

    private mutating func perform(_ action: KeyAction) -> [DashboardEffect] {
        switch action {
        case .quit:
            return [.quit]
        case .toggleHelp:
            isHelpVisible.toggle()
        case .close:
            close()
        case .open:
            return open()
        case .nextPanel, .previousPanel:
            // The Server panel is on screen only with a server overview.
            let all = Panel.allCases.filter { $0 != .server || snapshot?.server != nil }
            let i = all.firstIndex(of: focus) ?? 0
            let step = action == .nextPanel ? 1 : all.count - 1
            focus = all[(i + step) % all.count]
        case .moveDown, .moveUp, .pageDown, .pageUp:
            let page: Int
            switch mode {
            case .serverView: page = max(1, ServerDetailView.tableRows(height: height))
            case .eventDetail: page = max(1, EventDetailView.textRows(height: height))
            default: page = max(1, LeakDetailView.stackRows(height: height))
            }
            let delta: Int
            switch action {
            case .moveDown: delta = 1
            case .moveUp: delta = -1
            case .pageDown: delta = page
            default: delta = -page
            }
            move(by: delta)
        case .failover:
            mode = .failoverPicker(selected: defaultPickerRow())
        case .terminateLeak:
            if case .leakDetail(let detail) = mode {
                mode = .confirm(.terminateLeak(connectionID: detail.leak.info.connectionID), returnTo: mode)
            } else if focus == .leaks, let leak = selectedLeakReport {
                mode = .confirm(.terminateLeak(connectionID: leak.info.connectionID), returnTo: mode)
            } else {
                setStatus("Select a leak first: Tab to the Leaks panel, then j/k.", isError: true)
            }
        case .suspendResume:
            let suspended = snapshot?.metrics.isSuspended ?? false
            mode = .confirm(suspended ? .resume : .suspend, returnTo: mode)
        case .evictIdle:
            setStatus("Evicting idle connections…", isError: false)
            return [.perform(.evictIdle)]
        case .pause:
            isPaused.toggle()
            if !isPaused, let latest {
                receive(latest)
            }
        case .faster, .slower:
            let next = refreshIndex + (action == .faster ? -1 : 1)
            guard refreshSteps.indices.contains(next) else {
                let edge = action == .faster ? "fastest" : "slowest"
                setStatus("Refresh is already at its \(edge): \(Format.interval(refreshInterval)).", isError: false)
                return []
            }
            refreshIndex = next
            return [.changeRefresh(refreshInterval)]
        case .toggleLibraryFrames:
            if case .leakDetail(var detail) = mode {
                detail.showsLibraryFrames.toggle()
                detail.scroll = 0
                mode = .leakDetail(detail)
            }
        case .nextTheme:
            guard !colorsDisabled else {
                setStatus("Colors are off (NO_COLOR or --no-color); themes are not used.", isError: false)
                return []
            }
            themeIndex = (themeIndex + 1) % themeNames.count
            setStatus("Theme: \(themeName)", isError: false)
            return [.applyTheme(themeName)]
        case .confirmYes:
            return confirm()
        case .confirmNo:
            if case .confirm(_, let back) = mode { mode = back }
        case .demo(let i):
            mode = .confirm(.demo(i), returnTo: mode)
        case .filter:
            guard let list = filterableList else {
                setStatus("/ filters the Leaks and Events panels and the server view's sessions.", isError: true)
                return []
            }
            filterEditing = list
            if filters[list] == nil { filters[list] = "" }
        case .nextSort:
            switch mode {
            case .serverView(let browser):
                sessionSort = sessionSort.next
                mode = .serverView(follow(browser))
            case .main where focus == .leaks:
                // The cursor stays on the same leak.
                let id = selectedLeakReport?.info.connectionID
                leakSort = leakSort.next
                selectedLeak = visibleLeaks.firstIndex { $0.info.connectionID == id } ?? 0
            default:
                setStatus("o sorts the Leaks panel and the server view's sessions.", isError: true)
            }
        case .keepFilter:
            if let list = filterEditing, filter(list) == nil { filters[list] = nil }
            filterEditing = nil
        case .clearFilter:
            if let list = filterEditing { filters[list] = nil }
            filterEditing = nil
            filterChanged()
        case .deleteFilterCharacter:
            if let list = filterEditing, filters[list]?.isEmpty == false {
                filters[list]?.removeLast()
                filterChanged()
            }
        case .cancelSession, .terminateSession:
            guard case .serverView(let browser) = mode, let pid = browser.selectedPID else {
                setStatus("Select a session first: j/k in the server view.", isError: true)
                return []
            }
            let pending: PendingAction =
                action == .cancelSession ? .cancelBackend(pid: pid) : .terminateBackend(pid: pid)
            mode = .confirm(pending, returnTo: mode)
        }
        return []
    }

    private mutating func close() {
        if isHelpVisible {
            isHelpVisible = false
            return
        }
        switch mode {
        case .confirm(_, let back): mode = back
        default: mode = .main
        }
    }

    private mutating func open() -> [DashboardEffect] {
        switch mode {
        case .main:
            switch focus {
            case .leaks:
                guard let leak = selectedLeakReport else { return [] }
                mode = .leakDetail(LeakDetail(leak: leak, frames: nil, scroll: 0, isGone: false))
                return [.loadStack(connectionID: leak.info.connectionID)]
            case .failover:
                guard let targets = snapshot?.failover.targets, !targets.isEmpty else { return [] }
                mode = .failoverPicker(selected: selectedTarget + 1)
            case .server:
                guard snapshot?.server != nil else { return [] }
                mode = .serverView(ServerBrowser(selected: 0, selectedPID: visibleSessions.first?.pid))
            case .events:
                let groups = visibleEvents
                guard groups.indices.contains(eventScroll) else { return [] }
                mode = .eventDetail(EventDetail(group: groups[eventScroll]))
            }
        case .failoverPicker(let row):
            let target: Int? = row == 0 ? nil : snapshot?.failover.targets[row - 1].index
            mode = .confirm(.failover(target: target), returnTo: mode)
        case .outcome:
            mode = .main
        default:
            break
        }
        return []
    }

    private mutating func confirm() -> [DashboardEffect] {
        guard case .confirm(let action, let back) = mode else { return [] }
        switch action {
        case .failover(let target):
            let name = target.flatMap { t in
                snapshot?.failover.targets.first { $0.index == t }.map { Format.shortTarget($0.url) }
            }
            mode = .outcome(OutcomeDialog(title: "Failing over to \(name ?? "the next suitable target")", outcome: nil))
            return [.perform(.failover(toTarget: target))]
        case .terminateLeak(let id):
            mode = back.isLeakDetail ? .main : back
            setStatus("Terminating connection #\(id)…", isError: false)
            return [.perform(.terminateLeak(connectionID: id))]
        case .suspend:
            mode = back
            setStatus("Suspending checkouts…", isError: false)
            return [.perform(.suspend)]
        case .resume:
            mode = back
            setStatus("Resuming checkouts…", isError: false)
            return [.perform(.resume)]
        case .cancelBackend(let pid):
            mode = back
            setStatus("Cancelling the statement of pid \(pid)…", isError: false)
            return [.perform(.cancelBackend(pid: pid))]
        case .terminateBackend(let pid):
            mode = back
            setStatus("Terminating pid \(pid)…", isError: false)
            return [.perform(.terminateBackend(pid: pid))]
        case .demo(let i):
            mode = back
            setStatus("Running: \(demoHelp.indices.contains(i) ? demoHelp[i] : "demo action")…", isError: false)
            return [.runDemoAction(i)]
        }
    }

    private mutating func move(by delta: Int) {
        switch mode {
        case .leakDetail(var detail):
            let count = detail.stackRows.count
            let page = LeakDetailView.stackRows(height: height)
            detail.scroll = max(0, min(detail.scroll + delta, max(0, count - page)))
            mode = .leakDetail(detail)
        case .failoverPicker(let row):
            let rows = (snapshot?.failover.targets.count ?? 0) + 1
            mode = .failoverPicker(selected: max(0, min(row + delta, rows - 1)))
        case .serverView(var browser):
            browser.selected += delta
            browser.selectedPID = nil
            mode = .serverView(follow(browser))
        case .eventDetail(var detail):
            let count = EventDetailView.lines(detail.group, width: EventDetailView.textWidth(width: width)).count
            let page = EventDetailView.textRows(height: height)
            detail.scroll = max(0, min(detail.scroll + delta, max(0, count - page)))
            mode = .eventDetail(detail)
        case .main:
            switch focus {
            case .leaks: selectedLeak += delta
            case .failover: selectedTarget += delta
            case .server: break  // A summary: Enter opens the sessions.
            // Events are listed newest first; "down" goes back in time.
            case .events: eventScroll += delta
            }
            clampSelections()
        default:
            break
        }
    }

    /// Typing into a filter narrows its list at once.
    private mutating func type(_ c: Character, into list: ListKind) {
        let text = filters[list] ?? ""
        guard text.count < ListFilter.maximumLength else { return }
        filters[list] = text + String(c)
        filterChanged()
    }

    /// Selections stay on a row of the (narrowed or widened) lists.
    private mutating func filterChanged() {
        clampSelections()
        if case .serverView(let browser) = mode { mode = .serverView(follow(browser)) }
    }

    /// The first healthy target that is not current (row + 1), else "next suitable" (row 0).
    private func defaultPickerRow() -> Int {
        guard let targets = snapshot?.failover.targets else { return 0 }
        if let i = targets.firstIndex(where: { !$0.isCurrent && $0.healthy }) { return i + 1 }
        return 0
    }

    /// The leak under the cursor in the displayed snapshot.
    public var selectedLeakReport: LeakReport? {
        let leaks = visibleLeaks
        guard leaks.indices.contains(selectedLeak) else { return nil }
        return leaks[selectedLeak]
    }
}

extension Mode {
    var isLeakDetail: Bool {
        if case .leakDetail = self { return true }
        return false
    }

    var isServerView: Bool {
        if case .serverView = self { return true }
        return false
    }
}
