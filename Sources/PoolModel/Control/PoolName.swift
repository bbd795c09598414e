#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Pool names (`DB_POOL_NAME`): 1–63 bytes of `[A-Za-z0-9._-]`, so they fit a socket file name and a header.
public enum PoolName {
    public static let maxLength = 63

    /// Whether `name` is a usable pool name.
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= maxLength && name.utf8.allSatisfy(isAllowed) && name != "."
            && name != ".."
    }

    /// `text` made into a pool name: other bytes become `_`, cut at 63 bytes; `service` when nothing is left.
    public static func sanitized(_ text: String) -> String {
        let bytes = text.utf8.prefix(maxLength).map { isAllowed($0) ? $0 : UInt8(ascii: "_") }
        let name = String(decoding: bytes, as: UTF8.self)
        return isValid(name) ? name : "service"
    }

    /// The default: the process name, sanitized.
    public static var processDefault: String { sanitized(ProcessInfo.processInfo.processName) }

    package static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}
