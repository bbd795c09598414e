/// Why a theme could not be used; `description` names the file, the line and the problem.
public struct ThemeError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// No theme of that name in any search directory (listed in `detail`).
        case notFound
        /// The file exists but could not be read.
        case unreadable
        /// Not valid TOML.
        case syntax
        /// A key under `[roles]` that is not a role.
        case unknownRole
        /// A color that is neither a name nor 0–255.
        case badColor
        /// An attribute other than bold, dim, reverse, underline.
        case badAttribute
        /// A value of the wrong type (e.g. `roles` not a table).
        case badValue
    }

    public var kind: Kind
    /// The theme file (or the name looked up, for `notFound`).
    public var file: String
    /// 1-based line, when known.
    public var line: Int?
    public var column: Int?
    /// The offending key (e.g. `roles.txt` or `roles.accent.fg`).
    public var key: String?
    /// The problem as a sentence.
    public var detail: String

    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        if let column { location += ":\(column)" }
        let keyPart = key.map { " (key \($0))" } ?? ""
        return "\(location): \(detail)\(keyPart)"
    }
}
