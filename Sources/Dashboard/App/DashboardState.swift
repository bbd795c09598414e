import PoolModel

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A focusable panel of the main view.
public enum Panel: String, Sendable, CaseIterable {
    /// `server` is skipped by Tab while the snapshot has no server overview.
    case leaks, server, failover, events
}

/// A command waiting for y/n.
public enum PendingAction: Sendable, Equatable {
    /// Fail over to a target index (`nil`: the manager picks the next suitable one).
    case failover(target: Int?)
    case terminateLeak(connectionID: Int)
    case suspend
    case resume
    case demo(Int)
    /// Cancel the statement of server session `pid` (`pg_cancel_backend`).
    case cancelBackend(pid: Int32)
    /// End server session `pid` (`pg_terminate_backend`).
    case terminateBackend(pid: Int32)
}

/// The server view (Enter on the Server panel): every session, blocking chains as a tree; one row selected.
public struct ServerBrowser: Sendable, Equatable {
    /// Index into the overview's `sessions` (its display order).
    public var selected: Int
    /// The selected session's pid, so the cursor follows it when the order changes between snapshots.
    public var selectedPID: Int32?

    public init(selected: Int = 0, selectedPID: Int32? = nil) {
        self.selected = selected
        self.selectedPID = selectedPID
    }
}

/// The leak detail view: a leak, its checkout stack (loaded off the main queue) and a scroll offset.
public struct LeakDetail: Sendable, Equatable {
    public var leak: LeakReport
    /// `nil` while loading.
    public var frames: [StackFrame]?
    /// First stack frame shown.
    public var scroll: Int
    /// The connection came back to the pool (or was closed) after the view opened.
    public var isGone: Bool
    /// The frames inside the library (above the caller) are listed instead of folded into one line.
    public var showsLibraryFrames = false

    /// One row of the stack list: a frame, or the fold standing for the library's frames above the caller.
    public enum StackRow: Sendable, Equatable {
        case folded(count: Int)
        case frame(StackFrame)
    }

    /// Modules whose frames are the pool's own machinery, not the caller's code.
    static let libraryModules = ["ConnectionManager", "CStackWalk"]

    /// True for a frame inside the library: its symbol or its file is in one of `libraryModules`.
    static func isLibraryFrame(_ frame: StackFrame) -> Bool {
        libraryModules.contains { module in
            frame.symbol.hasPrefix("\(module).") || frame.symbol.contains(" in \(module).")
                || frame.image == module || (frame.file?.contains("/\(module)/") ?? false)
        }
    }

    /// The library's frames at the top of the stack, before the first frame of the caller (0 when all are).
    static func leadingLibraryFrames(_ frames: [StackFrame]) -> Int {
        let n = frames.prefix { isLibraryFrame($0) }.count
        return n == frames.count ? 0 : n
    }

    /// What the stack list shows: it starts at the caller, the library's frames folded unless asked for.
    public var stackRows: [StackRow] {
        guard let frames else { return [] }
        let library = Self.leadingLibraryFrames(frames)
        guard library > 0, !showsLibraryFrames else { return frames.map { .frame($0) } }
        return [.folded(count: library)] + frames.dropFirst(library).map { .frame($0) }
    }
}

/// A command's result shown in a dialog (failover) — `outcome` is `nil` while it runs.
public struct OutcomeDialog: Sendable, Equatable {
    public var title: String
    public var outcome: MonitorCommandOutcome?
}

/// One line at the top of the screen telling what the last command did.
public struct StatusMessage: Sendable, Equatable {
    public var text: String
    public var isError: Bool
    /// Snapshot time when it appeared; it fades after `StatusMessage.lifetime` seconds.
    public var at: Date?

    static let lifetime: TimeInterval = 10
}

/// What the dashboard shows (one state machine; see `DashboardState.update`).
///
/// Modes: `main` → `leakDetail` (Enter on a leak, Esc back) · `main` → `failoverPicker` (f) →
/// `confirm` (Enter) → `outcome` (y) → `main` (Enter/Esc) · `main`/`leakDetail` → `confirm` (x, s, demo)
/// → back (y after the command is sent, n/Esc at once) · `main` → `serverView` (Enter on the Server panel, Esc
/// back) → `confirm` (c, x on a session) → `serverView` · `main` → `eventDetail` (Enter on the Events panel, Esc
/// back). The help overlay sits over any mode but `confirm`.
public indirect enum Mode: Sendable, Equatable {
    case main
    case leakDetail(LeakDetail)
    /// Row 0 is "next suitable target", row i+1 is target i.
    case failoverPicker(selected: Int)
    case serverView(ServerBrowser)
    /// The full text of one (folded) event: Enter on the Events panel, Esc back.
    case eventDetail(EventDetail)
    case confirm(PendingAction, returnTo: Mode)
    case outcome(OutcomeDialog)
}

/// Everything `render` needs; changed only by `update`.
public struct DashboardState: Sendable, Equatable {
    /// The snapshot on screen (frozen while paused).
    public var snapshot: ManagerSnapshot?
    /// The newest snapshot received (differs from `snapshot` only while paused).
    public var latest: ManagerSnapshot?
    public var width: Int
    public var height: Int
    public var isPaused = false
    public var focus: Panel = .leaks
    public var selectedLeak = 0
    public var selectedTarget = 0
    /// Event rows (folded, newest first) scrolled back from the newest; the top row is the selected one.
    public var eventScroll = 0
    public var mode: Mode = .main
    /// Filters of the lists (`/`): kept after Enter, changed live while typed, removed by Esc.
    public var filters: [ListKind: String] = [:]
    /// The list whose filter is being typed (the input line at the bottom takes the keys).
    public var filterEditing: ListKind?
    /// The order of the leak list and of the server view's sessions (`o`).
    public var leakSort: LeakSort = .held
    public var sessionSort: SessionSort = .chains
    public var isHelpVisible = false
    public var refreshSteps: [Duration]
    public var refreshIndex: Int
    public var themeNames: [String]
    public var themeIndex: Int
    public var colorsDisabled: Bool
    public var status: StatusMessage?
    /// Snapshot time since which utilization stayed at or above 80 %.
    public var highUtilizationSince: Date?
    public var keyTable: [KeyBinding]
    public var demoHelp: [String]
    public var title: String
    public var timeZone: ClockZone
    /// Whose pool is on screen (a service's through its socket, pooltop's own probe pool, the demo).
    public var source: SourceDescription
    /// Whether the snapshot on screen is current (an attached service may stop answering).
    public var sourceStatus: SourceStatus = .live

    public static let defaultRefreshSteps: [Duration] = [
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
    ]
    public static let shippedThemes = ["default", "dark-256", "light", "high-contrast", "monochrome"]

    public init(
        width: Int = 80, height: Int = 24, refresh: Duration = .seconds(1), theme: String = "default",
        colorsDisabled: Bool = false, demoActions: [DemoAction] = [], title: String = "pooltop",
        timeZone: ClockZone = .local, source: SourceDescription = .embedded
    ) {
        self.width = width
        self.height = height
        var steps = Self.defaultRefreshSteps
        if !steps.contains(refresh), refresh > .zero {
            steps.append(refresh)
            steps.sort()
        }
        self.refreshSteps = steps
        self.refreshIndex = steps.firstIndex(of: refresh) ?? 2
        var names = Self.shippedThemes
        if !names.contains(theme) { names.insert(theme, at: 0) }
        self.themeNames = names
        self.themeIndex = names.firstIndex(of: theme) ?? 0
        self.colorsDisabled = colorsDisabled
        self.keyTable = KeyTable.bindings(demo: demoActions)
        self.demoHelp = demoActions.map(\.help)
        self.title = title
        self.timeZone = timeZone
        self.source = source
    }

    /// True while an attached service does not answer (the screen shows its last state).
    public var isStale: Bool {
        if case .stale = sourceStatus { return true }
        return false
    }

    public var refreshInterval: Duration { refreshSteps[refreshIndex] }
    public var themeName: String { themeNames[themeIndex] }

    /// The key context of the current mode (help overlay first).
    public var context: KeyContext {
        if case .confirm = mode { return .confirm }
        if filterEditing != nil { return .filterInput }
        if isHelpVisible { return .help }
        switch mode {
        case .main: return .main
        case .leakDetail: return .leakDetail
        case .failoverPicker: return .failoverPicker
        case .serverView: return .serverView
        case .eventDetail: return .eventDetail
        case .confirm: return .confirm
        case .outcome: return .outcome
        }
    }

    /// Bindings that work right now, in table order.
    public var activeBindings: [KeyBinding] { keyTable.filter { $0.contexts.contains(context) } }

    /// The Events panel's rows: newest first, consecutive repeats folded.
    public var visibleEvents: [EventGroup] {
        let f = filter(.events)
        return EventGroup.fold(snapshot?.events ?? []).filter {
            ListFilter.matches(ListFilter.columns($0, timeZone), f)
        }
    }

    /// Status text still fresh at the latest snapshot time.
    public var visibleStatus: StatusMessage? {
        guard let status else { return nil }
        guard let at = status.at, let now = latest?.takenAt else { return status }
        return now.timeIntervalSince(at) < StatusMessage.lifetime ? status : nil
    }
}
