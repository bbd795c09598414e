/// A setting that cannot be used, named with the value that was given (passwords masked).
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A setting has a value outside its range or of the wrong kind.
    case invalidValue(setting: String, value: String, expected: String)
    /// A database URL could not be parsed; `url` is masked.
    case invalidURL(setting: String, url: String, reason: String)
    /// A connection option in a database URL has a value libpq would refuse when connecting (`sslmode=bogus`).
    case invalidOption(setting: String, option: String, value: String, expected: String)
    /// A URL whose scheme is not `postgresql://` or `postgres://`; `url` is masked.
    case unknownScheme(setting: String, url: String, scheme: String)
    /// The same server appears twice among the targets; `url` is masked.
    case duplicateTarget(url: String)
    /// No database URL was given where one is required.
    case missingURL(setting: String)
    /// The control endpoint could not start at `path` (for `DB_CONTROL_GROUP`: the group); `reason` says why.
    case controlEndpointFailed(setting: String, path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidValue(let setting, let value, let expected):
            return "Invalid \(setting) '\(Self.cut(value))': expected \(expected)."
        case .invalidURL(let setting, let url, let reason):
            return "Invalid \(setting) '\(Self.cut(url))': \(Self.cut(reason, to: 200))."
        case .invalidOption(let setting, let option, let value, let expected):
            return
                "Invalid \(setting): connection option \(option)='\(Self.cut(value, to: 40))' is not accepted; \(option) takes \(expected)."
        case .unknownScheme(let setting, let url, let scheme):
            return
                "Invalid \(setting) '\(Self.cut(url))': unknown scheme '\(Self.cut(scheme, to: 20))', expected postgresql:// or postgres:// "
                + "(or a libpq keyword string such as 'host=... dbname=...')."
        case .duplicateTarget(let url):
            return
                "The database target '\(url)' is listed more than once; each failover target must be a different server."
        case .missingURL(let setting):
            return "No database URL: set \(setting)."
        case .controlEndpointFailed(let setting, let path, let reason):
            if path.isEmpty { return "The control endpoint cannot start (\(setting)): \(reason)." }
            return "The control endpoint (\(setting)) cannot start at '\(path)': \(reason)."
        }
    }

    /// `text` cut to `limit` characters (a 130 KB value is not echoed whole), marked with "…".
    static func cut(_ text: String, to limit: Int = 80) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…"
    }

    /// The same error naming the setting as `rename` says (e.g. a command-line flag instead of a variable).
    public func renamingSetting(_ rename: (String) -> String) -> ConfigurationError {
        switch self {
        case .invalidValue(let setting, let value, let expected):
            return .invalidValue(setting: rename(setting), value: value, expected: expected)
        case .invalidURL(let setting, let url, let reason):
            return .invalidURL(setting: rename(setting), url: url, reason: reason)
        case .invalidOption(let setting, let option, let value, let expected):
            return .invalidOption(setting: rename(setting), option: option, value: value, expected: expected)
        case .unknownScheme(let setting, let url, let scheme):
            return .unknownScheme(setting: rename(setting), url: url, scheme: scheme)
        case .missingURL(let setting):
            return .missingURL(setting: rename(setting))
        case .controlEndpointFailed(let setting, let path, let reason):
            return .controlEndpointFailed(setting: rename(setting), path: path, reason: reason)
        case .duplicateTarget:
            return self
        }
    }
}
