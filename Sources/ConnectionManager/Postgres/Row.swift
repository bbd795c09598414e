import CLibPQ

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One row of a `QueryResult`, read by column index (0-based) or exact column name.
///
/// Every accessor returns nil for SQL NULL, throws `.columnNotFound` for a column the result does not have and
/// `.typeMismatch` when the text cannot be converted: `try row.int("id")`, `try row.string(0)`.
public struct Row: Sendable {
    /// The result this row belongs to (kept alive by the row).
    public let result: QueryResult
    let index: Int32

    /// Whether the value is SQL NULL.
    public func isNull(_ column: Int) throws(PostgresError) -> Bool {
        try value(at: result.checkedColumn(column)) == nil
    }

    /// Whether the value is SQL NULL.
    public func isNull(_ column: String) throws(PostgresError) -> Bool {
        try value(at: result.columnIndex(column)) == nil
    }

    /// The value as text (any type, in PostgreSQL's text output format).
    public func string(_ column: Int) throws(PostgresError) -> String? {
        try string(at: result.checkedColumn(column))
    }

    /// The value as text (any type, in PostgreSQL's text output format).
    public func string(_ column: String) throws(PostgresError) -> String? {
        try string(at: result.columnIndex(column))
    }

    /// The value as an integer (`smallint`, `integer`, `bigint`, or text holding a decimal integer).
    public func int(_ column: Int) throws(PostgresError) -> Int? {
        try int(at: result.checkedColumn(column))
    }

    /// The value as an integer (`smallint`, `integer`, `bigint`, or text holding a decimal integer).
    public func int(_ column: String) throws(PostgresError) -> Int? {
        try int(at: result.columnIndex(column))
    }

    /// The value as a floating-point number (`real`, `double precision`, `numeric`, integers, `NaN`, `Infinity`).
    public func double(_ column: Int) throws(PostgresError) -> Double? {
        try double(at: result.checkedColumn(column))
    }

    /// The value as a floating-point number (`real`, `double precision`, `numeric`, integers, `NaN`, `Infinity`).
    public func double(_ column: String) throws(PostgresError) -> Double? {
        try double(at: result.columnIndex(column))
    }

    /// The value as a boolean (`t` / `f`, as `boolean` prints).
    public func bool(_ column: Int) throws(PostgresError) -> Bool? {
        try bool(at: result.checkedColumn(column))
    }

    /// The value as a boolean (`t` / `f`, as `boolean` prints).
    public func bool(_ column: String) throws(PostgresError) -> Bool? {
        try bool(at: result.columnIndex(column))
    }

    /// The value as a `Date`: `timestamptz` (with its offset), `timestamp` (taken as UTC) or `date` (UTC midnight),
    /// in the default `DateStyle = ISO`. `infinity` gives `Date.distantFuture`.
    public func date(_ column: Int) throws(PostgresError) -> Date? {
        try date(at: result.checkedColumn(column))
    }

    /// The value as a `Date`: `timestamptz` (with its offset), `timestamp` (taken as UTC) or `date` (UTC midnight),
    /// in the default `DateStyle = ISO`. `infinity` gives `Date.distantFuture`.
    public func date(_ column: String) throws(PostgresError) -> Date? {
        try date(at: result.columnIndex(column))
    }

    // MARK: - Conversions

    /// The text of a value and its length in bytes; nil for NULL.
    private func value(at column: Int32) -> (text: UnsafePointer<CChar>, length: Int)? {
        guard let raw = result.raw, PQgetisnull(raw, index, column) == 0, let text = PQgetvalue(raw, index, column)
        else { return nil }
        return (UnsafePointer(text), Int(PQgetlength(raw, index, column)))
    }

    private func string(at column: Int32) -> String? {
        value(at: column).map { String(cString: $0.text) }
    }

    private func int(at column: Int32) throws(PostgresError) -> Int? {
        guard let (text, length) = value(at: column) else { return nil }
        guard let number = Self.parseInt(text, length: length) else {
            throw mismatch(column, text, expected: "an integer")
        }
        return number
    }

    private func double(at column: Int32) throws(PostgresError) -> Double? {
        guard let (text, length) = value(at: column) else { return nil }
        var end: UnsafeMutablePointer<CChar>?
        let number = strtod(text, &end)
        // strtod accepts leading blanks and hex floats; PostgreSQL never prints either, so only the end is checked.
        guard length > 0, let end, end == UnsafeMutablePointer(mutating: text) + length else {
            throw mismatch(column, text, expected: "a number")
        }
        return number
    }

    private func bool(at column: Int32) throws(PostgresError) -> Bool? {
        guard let (text, length) = value(at: column) else { return nil }
        if length == 1, text[0] == CChar(UInt8(ascii: "t")) { return true }
        if length == 1, text[0] == CChar(UInt8(ascii: "f")) { return false }
        switch String(cString: text) {
        case "true": return true
        case "false": return false
        default: throw mismatch(column, text, expected: "a boolean (t or f)")
        }
    }

    private func date(at column: Int32) throws(PostgresError) -> Date? {
        guard let (text, length) = value(at: column) else { return nil }
        guard let date = PostgresDate.parse(text, length: length) else {
            throw mismatch(column, text, expected: "an ISO date or timestamp")
        }
        return date
    }

    private func mismatch(_ column: Int32, _ text: UnsafePointer<CChar>, expected: String) -> PostgresError {
        .typeMismatch(column: result.columnLabel(column), value: String(cString: text), expected: expected)
    }

    /// A decimal integer with an optional sign, or nil (also on overflow).
    static func parseInt(_ text: UnsafePointer<CChar>, length: Int) -> Int? {
        var index = 0
        var negative = false
        if length > 0, text[0] == CChar(UInt8(ascii: "-")) || text[0] == CChar(UInt8(ascii: "+")) {
            negative = text[0] == CChar(UInt8(ascii: "-"))
            index = 1
        }
        guard index < length else { return nil }
        var value = 0
        while index < length {
            let digit = Int(UInt8(bitPattern: text[index])) - Int(UInt8(ascii: "0"))
            guard digit >= 0, digit <= 9 else { return nil }
            // Accumulate negatively so that Int.min parses too.
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = times10.subtractingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = next
            index += 1
        }
        if negative { return value }
        return value == .min ? nil : -value
    }
}
