/// What a piece of the screen means; a `Theme` decides how each role looks.
public enum Role: String, Sendable, CaseIterable, Hashable {
    case text, muted, accent, ok, warning, critical, gauge, overflow, sparkline, selection, border, header, title
}

/// Extra emphasis layered over a role's own attributes.
public struct Emphasis: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let bold = Emphasis(rawValue: 1)
    public static let dim = Emphasis(rawValue: 2)
    public static let reverse = Emphasis(rawValue: 4)
    public static let underline = Emphasis(rawValue: 8)
}

/// The style of one cell: a semantic role plus optional emphasis. Never a concrete color.
public struct Style: Sendable, Hashable {
    public var role: Role
    public var emphasis: Emphasis

    public init(_ role: Role = .text, _ emphasis: Emphasis = []) {
        self.role = role
        self.emphasis = emphasis
    }

    public static let text = Style(.text)
    public static let muted = Style(.muted)
    public static let accent = Style(.accent)
    public static let ok = Style(.ok)
    public static let warning = Style(.warning)
    public static let critical = Style(.critical)
    public static let border = Style(.border)
    public static let selection = Style(.selection)
    public static let header = Style(.header)
    public static let title = Style(.title)

    /// The same role with more emphasis.
    public func with(_ extra: Emphasis) -> Style { Style(role, emphasis.union(extra)) }
}
