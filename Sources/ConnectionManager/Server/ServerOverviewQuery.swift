import Foundation

/// The one query behind ``ServerOverview``, and its row mapping (pure; the manager runs it on its probe connection).
///
/// Every client backend but the reader's own, with the lock it waits for (one scan of `pg_locks`) and who is in its
/// way. Ages are
/// computed by the server against its own `now()`. `pg_blocking_pids()` takes the lock manager's locks, so it is
/// called only for sessions that wait for a lock; `pg_locks.waitstart` (PostgreSQL 14+) is read through
/// `to_jsonb` so the same text runs on older servers (it is then NULL). As in pg_activity, `query` is cut on the
/// server (1000 characters) and rows are capped.
///
/// Columns, all text format: 0 pid, 1 usename, 2 application_name, 3 client_addr, 4 datname, 5 state,
/// 6 transaction age, 7 query age, 8 state age (seconds, `float8`), 9 wait_event_type, 10 wait_event, 11 query,
/// 12 `pg_blocking_pids` as an array literal (`{4242,4243}`), 13 locktype, 14 mode, 15 relation name,
/// 16 seconds since the wait started. SQL NULL → `nil`.
public enum ServerOverviewQuery {
    /// At most this many sessions are read per scan.
    public static let rowLimit = 1000

    public static let sql = """
        WITH waiting AS (SELECT DISTINCT ON (w.pid) w.pid, w.locktype, w.mode, \
        CASE WHEN w.relation IS NOT NULL THEN w.relation::regclass::text END AS relname, to_jsonb(w) AS fields \
        FROM pg_locks w WHERE NOT w.granted ORDER BY w.pid) \
        SELECT a.pid, a.usename, a.application_name, a.client_addr::text, a.datname, a.state, \
        extract(epoch FROM now() - a.xact_start)::float8, extract(epoch FROM now() - a.query_start)::float8, \
        extract(epoch FROM now() - a.state_change)::float8, a.wait_event_type, a.wait_event, left(a.query, 1000), \
        CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid)::text END, \
        l.locktype, l.mode, l.relname, \
        extract(epoch FROM now() - (l.fields ->> 'waitstart')::timestamptz)::float8 \
        FROM pg_stat_activity a LEFT JOIN waiting l ON l.pid = a.pid \
        WHERE a.pid <> pg_backend_pid() AND a.backend_type = 'client backend' \
        ORDER BY (a.wait_event_type = 'Lock') DESC, a.xact_start NULLS LAST, a.pid \
        LIMIT \(rowLimit)
        """

    /// Number of columns `sql` returns.
    public static let columnCount = 17

    /// Maps one text-format row; `nil` when it is malformed (wrong column count or no pid).
    public static func session(row: [String?]) -> ServerSession? {
        guard row.count == columnCount, let pidText = row[0], let pid = Int32(pidText) else { return nil }
        func seconds(_ column: Int) -> Double? {
            row[column].flatMap(Double.init).map { max(0, $0) }
        }
        let lock = row[13].flatMap { type in
            row[14].map { WaitingLock(lockType: type, mode: $0, relation: row[15], waitingFor: seconds(16)) }
        }
        return ServerSession(
            pid: pid, user: row[1], application: row[2], client: row[3], database: row[4], state: row[5],
            query: row[11], waitEventType: row[9], waitEvent: row[10], transactionAge: seconds(6),
            queryAge: seconds(7), stateAge: seconds(8), blockedBy: pids(row[12]), waitingFor: lock)
    }

    /// `{4242,4243}` → `[4242, 4243]`; `nil`, `{}` or garbage → `[]`.
    public static func pids(_ literal: String?) -> [Int32] {
        guard let literal, literal.hasPrefix("{"), literal.hasSuffix("}") else { return [] }
        return literal.dropFirst().dropLast().split(separator: ",").compactMap { Int32($0) }
    }

    /// What the leak ledger keeps about a backend, from its row (dates from the server's ages and `takenAt`).
    public static func activity(_ session: ServerSession, takenAt: Date) -> ServerActivity {
        func date(_ age: Double?) -> Date? { age.map { takenAt.addingTimeInterval(-$0) } }
        return ServerActivity(
            pid: session.pid, state: session.state, xactStart: date(session.transactionAge),
            queryStart: date(session.queryAge), stateChange: date(session.stateAge), query: session.query,
            waitEventType: session.waitEventType, waitEvent: session.waitEvent,
            applicationName: session.application)
    }
}
