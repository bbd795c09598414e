import CLibPQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The result of the last statement a query ran: rows as text, plus the command tag.
///
/// Owns libpq's `PGresult` (no copy is made; values are converted when read) and frees it when released.
/// Safe to share between threads: a `PGresult` is read-only once created.
public final class QueryResult: @unchecked Sendable {  // Immutable after init; libpq only reads a PGresult.
    /// The libpq result; nil for a result with no rows (e.g. an empty query).
    let raw: OpaquePointer?

    init(raw: OpaquePointer?) {
        self.raw = raw
    }

    deinit {
        if let raw { PQclear(raw) }
    }

    /// The number of rows returned.
    public var rowCount: Int { raw.map { Int(PQntuples($0)) } ?? 0 }

    /// The number of columns.
    public var columnCount: Int { raw.map { Int(PQnfields($0)) } ?? 0 }

    /// The column names, in order.
    public var columnNames: [String] {
        guard let raw else { return [] }
        return (0..<PQnfields(raw)).map { String(cString: PQfname(raw, $0)) }
    }

    /// The command tag, e.g. `SELECT 1`, `INSERT 0 3`, `BEGIN`; empty for an empty query.
    public var commandTag: String { raw.map { String(cString: PQcmdStatus($0)) } ?? "" }

    /// Whether the command tag is exactly `tag` (no allocation).
    func commandTagIs(_ tag: StaticString) -> Bool {
        guard let raw, let status = PQcmdStatus(raw) else { return false }
        return tag.withUTF8Buffer { wanted in
            wanted.withMemoryRebound(to: CChar.self) { strncmp(status, $0.baseAddress!, $0.count) == 0 }
        } && status[tag.utf8CodeUnitCount] == 0
    }

    /// Rows inserted, updated, deleted, selected, ... by the statement; nil when the command reports no count.
    public var affectedRows: Int? {
        guard let raw, let text = PQcmdTuples(raw), text.pointee != 0 else { return nil }
        return Int(String(cString: text))
    }

    /// All rows, in order.
    public var rows: [Row] { (0..<rowCount).map { Row(result: self, index: Int32($0)) } }

    /// The row at `index` (0-based); traps when out of range, like an array.
    public subscript(row index: Int) -> Row {
        precondition(index >= 0 && index < rowCount, "Row \(index) is out of range; the result has \(rowCount) rows.")
        return Row(result: self, index: Int32(index))
    }

    /// The index of the column named exactly `name` (case-sensitive, unlike `PQfnumber`).
    func columnIndex(_ name: String) throws(PostgresError) -> Int32 {
        if let raw {
            let count = PQnfields(raw)
            let found: Int32? = name.withCString { wanted in
                var column: Int32 = 0
                while column < count {
                    if strcmp(PQfname(raw, column), wanted) == 0 { return column }
                    column += 1
                }
                return nil
            }
            if let found { return found }
        }
        throw .columnNotFound("'\(name)'")
    }

    /// Checks that `column` exists.
    func checkedColumn(_ column: Int) throws(PostgresError) -> Int32 {
        guard column >= 0, column < columnCount else { throw .columnNotFound("#\(column)") }
        return Int32(column)
    }

    /// The name of a column, for error messages.
    func columnLabel(_ column: Int32) -> String {
        guard let raw, let name = PQfname(raw, column) else { return "#\(column)" }
        return "'\(String(cString: name))'"
    }
}
