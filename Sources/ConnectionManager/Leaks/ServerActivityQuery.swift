import Foundation

/// The query the manager runs to see what the server thinks leaked connections are doing, and its row mapping.
///
/// The manager does the I/O (on its monitor connection to the current target, under a deadline):
/// ```
/// let pids = ledger.leakedBackendPIDs
/// PQexecParams(conn, ServerActivityQuery.sql, 1, nil, [ServerActivityQuery.parameter(pids: pids)], nil, nil, 0)
/// // for each row r: columns 0...8 as text (nil when PQgetisnull)
/// let byPID = Dictionary(rows.compactMap(ServerActivityQuery.activity(row:)).map { ($0.pid, $0) }) { a, _ in a }
/// ledger.updateServerActivity(byPID)
/// ```
///
/// Row → `ServerActivity`, all columns in text format:
/// 0 `pid` → `pid` (Int32); 1 `state` → `state`;
/// 2–4 `xact_start`, `query_start`, `state_change` as Unix epoch seconds (`float8`, fractional) → `Date`s;
/// 5 `query` (first 1000 characters) → `query`; 6 `wait_event_type`, 7 `wait_event`, 8 `application_name`.
/// SQL NULL → `nil`. Timestamps come as epoch numbers so no DateStyle or time zone parsing is needed.
public enum ServerActivityQuery {
    /// `$1` is a text array of backend pids, e.g. `{4711,4712}` (see `parameter(pids:)`).
    public static let sql = """
        SELECT pid, state, extract(epoch FROM xact_start)::float8, extract(epoch FROM query_start)::float8, \
        extract(epoch FROM state_change)::float8, left(query, 1000), wait_event_type, wait_event, application_name \
        FROM pg_stat_activity WHERE pid = ANY($1::int[])
        """

    /// Number of columns `sql` returns.
    public static let columnCount = 9

    /// The `$1` parameter in text format: a PostgreSQL array literal such as `{4711,4712}`.
    public static func parameter(pids: [Int32]) -> String {
        "{" + pids.map(String.init).joined(separator: ",") + "}"
    }

    /// Maps one text-format row; `nil` when the row is malformed (wrong column count or no pid).
    public static func activity(row: [String?]) -> ServerActivity? {
        guard row.count == columnCount, let pidText = row[0], let pid = Int32(pidText) else { return nil }
        func date(_ column: Int) -> Date? {
            row[column].flatMap(Double.init).map(Date.init(timeIntervalSince1970:))
        }
        return ServerActivity(
            pid: pid, state: row[1], xactStart: date(2), queryStart: date(3), stateChange: date(4), query: row[5],
            waitEventType: row[6], waitEvent: row[7], applicationName: row[8])
    }
}
