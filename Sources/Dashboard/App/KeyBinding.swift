/// Where the dashboard's keyboard focus is; each key binding lists the contexts it works in.
public enum KeyContext: String, Sendable, CaseIterable, Hashable {
    case main, leakDetail, failoverPicker, confirm, help, outcome, serverView, eventDetail
    /// A filter is being typed: characters go to it.
    case filterInput
}

/// What a key does: the one vocabulary shared by the key table, `update`, the footer and help.
public enum KeyAction: Sendable, Hashable {
    case quit, toggleHelp, close, open
    case nextPanel, previousPanel, moveDown, moveUp, pageDown, pageUp
    case failover, terminateLeak, suspendResume, evictIdle, pause, faster, slower, nextTheme
    /// In the leak view: show / fold the library's frames above the caller.
    case toggleLibraryFrames
    case confirmYes, confirmNo
    /// In the server view: cancel / terminate the selected session.
    case cancelSession, terminateSession
    /// `/`: start typing a filter for the list in focus; while typing: keep it, clear it, delete a character.
    case filter, keepFilter, clearFilter, deleteFilterCharacter
    /// `o`: the next order of the leak list or of the server view's sessions.
    case nextSort
    /// A demo-only action supplied by the CLI (index into `DashboardOptions.demoActions`).
    case demo(Int)
}

/// One row of the key table.
public struct KeyBinding: Sendable, Equatable {
    public var keys: [Key]
    /// How the keys are shown (e.g. `j/↓`).
    public var label: String
    /// What the footer shows (e.g. `+/- rate`); `nil` keeps the binding out of the footer.
    public var footer: String?
    /// A sentence fragment for the help overlay.
    public var help: String
    public var contexts: Set<KeyContext>
    public var action: KeyAction

    public init(
        _ keys: [Key], label: String? = nil, footer: String?, help: String, in contexts: Set<KeyContext>,
        action: KeyAction
    ) {
        self.keys = keys
        self.label = label ?? keys.map(\.description).joined(separator: "/")
        self.footer = footer
        self.help = help
        self.contexts = contexts
        self.action = action
    }
}

/// The one key table: `update` dispatches through it, the footer and help overlay draw it.
public enum KeyTable {
    static let browsing: Set<KeyContext> = [.main, .leakDetail]
    /// Where lists scroll and the display can be paused: the browsing views and the server view.
    static let viewing: Set<KeyContext> = [.main, .leakDetail, .serverView, .eventDetail]
    /// Every context but the y/n question (which takes only y, n and Esc).
    static let anyView: Set<KeyContext> = [
        .main, .leakDetail, .failoverPicker, .help, .outcome, .serverView, .eventDetail,
    ]

    /// The built-in bindings followed by the demo actions (skipping any whose key is taken).
    public static func bindings(demo: [DemoAction] = []) -> [KeyBinding] {
        // Order matters: the footer shows what fits from the top, the help overlay lists all.
        var table: [KeyBinding] = [
            KeyBinding(
                [.character("q"), .function(10)], label: "q/F10", footer: "q quit", help: "quit pooltop",
                in: anyView, action: .quit),
            KeyBinding(
                [.character("?"), .function(1)], label: "?/F1", footer: "? help", help: "show / hide this help",
                in: anyView, action: .toggleHelp),
            KeyBinding(
                [.enter], footer: "Enter open", help: "open leak/event/server/target",
                in: [.main, .failoverPicker, .outcome], action: .open),
            KeyBinding(
                [.escape], footer: "Esc close", help: "close view, dialog or help",
                in: [.leakDetail, .failoverPicker, .confirm, .help, .outcome, .serverView, .eventDetail],
                action: .close),
            KeyBinding(
                [.character("/")], footer: nil, help: "filter the list in focus", in: [.main, .serverView],
                action: .filter),
            KeyBinding(
                [.character("o")], footer: nil, help: "sort leaks or sessions", in: [.main, .serverView],
                action: .nextSort),
            KeyBinding(
                [.enter], footer: "Enter keep", help: "keep the filter (typing)", in: [.filterInput],
                action: .keepFilter),
            KeyBinding(
                [.escape], footer: "Esc clear", help: "clear the filter (typing)", in: [.filterInput],
                action: .clearFilter),
            KeyBinding(
                [.backspace], footer: nil, help: "delete the last character", in: [.filterInput],
                action: .deleteFilterCharacter),
            KeyBinding([.character("y")], footer: "y yes", help: "confirm", in: [.confirm], action: .confirmYes),
            KeyBinding([.character("n")], footer: "n no", help: "cancel", in: [.confirm], action: .confirmNo),
            KeyBinding(
                [.character("f")], footer: "f failover", help: "fail over by hand (picker)", in: [.main],
                action: .failover),
            KeyBinding(
                [.character("l")], footer: nil, help: "show / fold library frames",
                in: [.leakDetail], action: .toggleLibraryFrames),
            KeyBinding(
                [.character("x")], footer: "x kill", help: "terminate the selected leak", in: browsing,
                action: .terminateLeak),
            KeyBinding(
                [.character("x")], footer: "x terminate", help: "end the session (server view)",
                in: [.serverView], action: .terminateSession),
            KeyBinding(
                [.character("c")], footer: "c cancel", help: "cancel query (server view)",
                in: [.serverView], action: .cancelSession),
            KeyBinding(
                [.character("s")], footer: "s suspend", help: "suspend / resume checkouts", in: browsing,
                action: .suspendResume),
            KeyBinding(
                [.character("e")], footer: "e evict", help: "evict idle connections", in: browsing,
                action: .evictIdle),
            KeyBinding(
                [.character("p"), .character(" ")], label: "p/Space", footer: "p pause",
                help: "freeze / unfreeze the display", in: viewing,
                action: .pause),
            KeyBinding(
                [.character("+"), .character("=")], label: "+", footer: "+/- rate",
                help: "refresh faster (0.25s .. 5s)", in: browsing, action: .faster),
            KeyBinding([.character("-")], footer: nil, help: "refresh slower", in: browsing, action: .slower),
            KeyBinding(
                [.character("t")], footer: "t theme", help: "next color theme", in: browsing, action: .nextTheme),
            KeyBinding(
                [.tab, .right], label: "Tab/→", footer: "Tab panel", help: "next panel", in: [.main],
                action: .nextPanel),
            KeyBinding(
                [.backTab, .left], label: "S-Tab/←", footer: nil, help: "previous panel", in: [.main],
                action: .previousPanel),
            KeyBinding(
                [.character("j"), .down], label: "j/↓", footer: "j/k move", help: "next row / scroll down",
                in: [.main, .leakDetail, .failoverPicker, .serverView, .eventDetail], action: .moveDown),
            KeyBinding(
                [.character("k"), .up], label: "k/↑", footer: nil, help: "previous row / scroll up",
                in: [.main, .leakDetail, .failoverPicker, .serverView, .eventDetail], action: .moveUp),
            KeyBinding(
                [.pageDown], label: "PgDn", footer: "PgUp/PgDn page", help: "page down",
                in: viewing, action: .pageDown),
            KeyBinding([.pageUp], footer: nil, help: "page up", in: viewing, action: .pageUp),
        ]
        let taken = Set(table.flatMap(\.keys))
        for (i, action) in demo.enumerated() where !taken.contains(.character(action.key)) {
            table.append(
                KeyBinding(
                    [.character(action.key)], footer: "\(action.key) demo", help: action.help, in: [.main],
                    action: .demo(i)))
        }
        return table
    }
}
