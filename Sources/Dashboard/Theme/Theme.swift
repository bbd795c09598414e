/// How one role looks.
public struct RoleStyle: Sendable, Hashable {
    public var foreground: ThemeColor
    public var background: ThemeColor
    public var emphasis: Emphasis

    public init(
        _ foreground: ThemeColor = .terminalDefault, on background: ThemeColor = .terminalDefault,
        _ emphasis: Emphasis = []
    ) {
        self.foreground = foreground
        self.background = background
        self.emphasis = emphasis
    }
}

/// A mapping from roles to looks. Roles a theme leaves out look like `text`.
public struct Theme: Sendable, Equatable {
    public var name: String
    public var styles: [Role: RoleStyle]
    /// True for themes that use attributes only (bold, dim, reverse) — no colors at all.
    public var isMonochrome: Bool

    public init(name: String, styles: [Role: RoleStyle], isMonochrome: Bool = false) {
        self.name = name
        self.styles = styles
        self.isMonochrome = isMonochrome
    }

    public func style(for role: Role) -> RoleStyle {
        styles[role] ?? styles[.text] ?? RoleStyle()
    }

    /// The theme as a terminal with `colors` colors can show it.
    public func degraded(toColors colors: Int) -> Theme {
        var copy = self
        for (role, s) in styles {
            copy.styles[role] = RoleStyle(
                s.foreground.degraded(toColors: colors), on: s.background.degraded(toColors: colors), s.emphasis)
        }
        return copy
    }

    /// Built in, safe on 16 colors; used when no `default.toml` is found.
    public static let builtinDefault = Theme(
        name: "default",
        styles: [
            .text: RoleStyle(),
            .muted: RoleStyle(.terminalDefault, on: .terminalDefault, .dim),
            .accent: RoleStyle(.index(6), on: .terminalDefault, .bold),
            .ok: RoleStyle(.index(2)),
            .warning: RoleStyle(.index(3)),
            .critical: RoleStyle(.index(1), on: .terminalDefault, .bold),
            .gauge: RoleStyle(.index(2)),
            .overflow: RoleStyle(.index(5), on: .terminalDefault, .bold),
            .sparkline: RoleStyle(.index(6)),
            .selection: RoleStyle(.index(0), on: .index(6)),
            .border: RoleStyle(.index(4)),
            .header: RoleStyle(.index(7), on: .index(4)),
            .title: RoleStyle(.terminalDefault, on: .terminalDefault, .bold),
        ])

    /// Attributes only: what `NO_COLOR` and `--no-color` get.
    public static let monochrome = Theme(
        name: "monochrome",
        styles: [
            .text: RoleStyle(),
            .muted: RoleStyle(.terminalDefault, on: .terminalDefault, .dim),
            .accent: RoleStyle(.terminalDefault, on: .terminalDefault, .bold),
            .ok: RoleStyle(),
            .warning: RoleStyle(.terminalDefault, on: .terminalDefault, .bold),
            .critical: RoleStyle(.terminalDefault, on: .terminalDefault, [.bold, .underline]),
            .gauge: RoleStyle(),
            .overflow: RoleStyle(.terminalDefault, on: .terminalDefault, .bold),
            .sparkline: RoleStyle(),
            .selection: RoleStyle(.terminalDefault, on: .terminalDefault, .reverse),
            .border: RoleStyle(.terminalDefault, on: .terminalDefault, .dim),
            .header: RoleStyle(.terminalDefault, on: .terminalDefault, .reverse),
            .title: RoleStyle(.terminalDefault, on: .terminalDefault, .bold),
        ], isMonochrome: true)
}
