#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A query parameter, sent to the server as text and bound (never interpolated into the SQL).
///
/// Literals work directly: `try connection.execute("SELECT $1::int + $2::int", [1, 2])`, `nil` sends NULL.
public enum PostgresValue: Sendable, Hashable {
    /// SQL NULL.
    case null
    /// Text, sent as is.
    case text(String)
    /// An integer, sent in decimal.
    case int(Int)
    /// A floating-point number; infinities and NaN are sent as `Infinity`, `-Infinity`, `NaN`.
    case double(Double)
    /// A boolean, sent as `t` / `f`.
    case bool(Bool)
    /// A point in time, sent as ISO 8601 UTC text with microseconds (`2024-05-06T07:08:09.123456Z`).
    case date(Date)

    /// The text form sent to the server; nil for NULL.
    var textValue: String? {
        switch self {
        case .null: return nil
        case .text(let string): return string
        case .int(let number): return String(number)
        case .double(let number):
            if number.isNaN { return "NaN" }
            if number.isInfinite { return number > 0 ? "Infinity" : "-Infinity" }
            return String(number)
        case .bool(let flag): return flag ? "t" : "f"
        case .date(let date): return PostgresDate.format(date)
        }
    }
}

extension PostgresValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
}
