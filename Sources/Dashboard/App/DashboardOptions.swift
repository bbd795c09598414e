import PoolModel

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A demo-only key (e.g. `K`: kill the primary, then promote the standby), supplied by the CLI.
public struct DemoAction: Sendable {
    public var key: Character
    /// Shown in the help overlay (at most 29 columns fit at 80×24), e.g. "kill primary, promote standby".
    public var help: String
    /// Runs off the main queue after the user confirms; its outcome is shown in the status line.
    public var run: @Sendable () -> MonitorCommandOutcome

    public init(key: Character, help: String, run: @escaping @Sendable () -> MonitorCommandOutcome) {
        self.key = key
        self.help = help
        self.run = run
    }
}

/// How the dashboard runs; everything has a default.
public struct DashboardOptions: Sendable {
    /// Time between snapshots; `+`/`-` step through 0.25, 0.5, 1, 2, 5 s (plus this value).
    public var refreshInterval: Duration
    /// A theme name (looked up in `$POOLTOP_THEMES`, then `themes/` near the executable) or a path.
    public var theme: String
    /// Monochrome regardless of the theme (also when `NO_COLOR` is set in `environment`).
    public var noColor: Bool
    /// Enables `demoActions` (their keys appear in the footer and help).
    public var isDemo: Bool
    public var demoActions: [DemoAction]
    /// Shown at the left of the header.
    public var title: String
    /// Called after the terminal is restored and before the process exits, with the exit code
    /// (0 after `q`, 130 after SIGINT, 143 after SIGTERM). Runs on the main queue.
    public var onExit: (@Sendable (Int32) -> Void)?
    /// Environment used for `NO_COLOR`, `POOLTOP_THEMES`; defaults to the process environment.
    public var environment: [String: String]
    /// Time zone of clock times on screen.
    public var timeZone: ClockZone

    public init(
        refreshInterval: Duration = .seconds(1), theme: String = "default", noColor: Bool = false,
        isDemo: Bool = false, demoActions: [DemoAction] = [], title: String = "pooltop",
        onExit: (@Sendable (Int32) -> Void)? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment, timeZone: ClockZone = .local
    ) {
        self.refreshInterval = refreshInterval
        self.theme = theme
        self.noColor = noColor
        self.isDemo = isDemo
        self.demoActions = demoActions
        self.title = title
        self.onExit = onExit
        self.environment = environment
        self.timeZone = timeZone
    }

    /// True when colors must be off: `--no-color` or a non-empty `NO_COLOR`.
    public var colorsDisabled: Bool {
        noColor || !(environment["NO_COLOR"] ?? "").isEmpty
    }
}
