import Foundation

/// Where the control endpoint listens (`DB_CONTROL_SOCKET`, config `controlSocket`).
public enum ControlSocketSetting: Sendable, Equatable, CustomStringConvertible {
    /// No endpoint (the default).
    case off
    /// `<pool name>.<pid>.sock` in the per-user control directory (``ControlSocketPath/defaultDirectory(environment:uid:)``).
    case auto
    /// This absolute path. Its directory is used as it is (it must exist); use one the control group can
    /// traverse when a group may read (auto's directory is 0700).
    case path(String)

    public var description: String {
        switch self {
        case .off: return "off"
        case .auto: return "auto"
        case .path(let path): return path
        }
    }
}

extension ConfigurationValue {
    /// `off` (or empty), `auto`, or an absolute path of at most 107 bytes (a Unix socket
    /// address' limit).
    public static func controlSocket(_ text: String, setting: String) throws(ConfigurationError)
        -> ControlSocketSetting
    {
        let t = text.trimmingSpaces
        switch t.lowercased() {
        case "", "off": return .off
        case "auto": return .auto
        default:
            guard t.hasPrefix("/"), t.utf8.count <= ControlSocketPath.maxPathLength, !t.hasSuffix("/"),
                !t.utf8.contains(0)
            else {
                throw .invalidValue(
                    setting: setting, value: cut(text),
                    expected: "off, auto or an absolute socket path of at most \(ControlSocketPath.maxPathLength) bytes"
                )
            }
            return .path(t)
        }
    }

    /// 1–63 bytes of `[A-Za-z0-9._-]`.
    public static func poolName(_ text: String, setting: String) throws(ConfigurationError) -> String {
        let t = text.trimmingSpaces
        guard PoolName.isValid(t) else {
            throw .invalidValue(setting: setting, value: cut(text), expected: "1 to 63 characters of A-Z a-z 0-9 . _ -")
        }
        return t
    }

    /// A group name or a numeric gid; empty = none.
    public static func controlGroup(_ text: String, setting: String) throws(ConfigurationError)
        -> ControlGroupSetting?
    {
        let t = text.trimmingSpaces
        if t.isEmpty { return nil }
        if t.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            guard let gid = UInt32(t), gid != UInt32.max else {
                throw .invalidValue(setting: setting, value: cut(text), expected: "a group name or a numeric gid")
            }
            return .gid(gid)
        }
        guard t.utf8.count <= 64, t.utf8.allSatisfy(PoolName.isAllowed), t.first != "-" else {
            throw .invalidValue(setting: setting, value: cut(text), expected: "a group name or a numeric gid")
        }
        return .name(t)
    }

    /// Long values are shown cut in error messages (60 characters and `…`).
    static func cut(_ text: String) -> String {
        text.count <= 60 ? text : String(text.prefix(60)) + "…"
    }
}

extension ConnectionPoolConfig {
    /// The control endpoint's settings, checked by ``validate()``.
    func validateControl() throws(ConfigurationError) {
        if !PoolName.isValid(poolName) {
            throw .invalidValue(
                setting: "pool_name", value: ConfigurationValue.cut(poolName),
                expected: "1 to 63 characters of A-Z a-z 0-9 . _ -")
        }
        if case .path(let path) = controlSocket {
            _ = try ConfigurationValue.controlSocket(path, setting: "control_socket")
        }
    }
}
