/// What the pool does to a connection's session state when it is given back (`DB_SESSION_RESET`).
///
/// A transaction left open is always rolled back first. Then:
/// - `auto` (default): `DISCARD ALL` only when the session may have changed — a statement sent on the connection
///   was not one of the plain kinds (`SELECT`, `INSERT`, `UPDATE`, `DELETE`, `WITH`, transaction commands, …, see
///   `StatementScan`) or named `set_config`, an advisory lock, a temp table, `LISTEN`, `PREPARE`, …, or a
///   parameter the server reports (`session_authorization`, `is_superuser`, `TimeZone`, `application_name`,
///   `default_transaction_read_only`, `DateStyle`, `IntervalStyle`, …) differs from its value at connect. Plain
///   workloads never pay a round trip. Not seen: a function that changes an unreported setting (`search_path`
///   before PostgreSQL 18, `statement_timeout`, …) called from a plain `SELECT`; use `always` for such code.
/// - `always`: `DISCARD ALL` on every checkin (PgBouncer's `server_reset_query`), one round trip each.
/// - `off`: rollback only; the next borrower inherits settings, role, prepared statements, temp tables, advisory
///   locks and `LISTEN`s. For code that manages session state itself.
///
/// A connection whose reset fails is closed, never handed out.
public enum SessionResetPolicy: String, Sendable, Equatable, Hashable, CaseIterable {
    case auto
    case always
    case off
}

extension ConfigurationValue {
    /// `auto`, `always` or `off` (any case).
    public static func sessionReset(_ text: String, setting: String) throws(ConfigurationError) -> SessionResetPolicy {
        guard let policy = SessionResetPolicy(rawValue: text.trimmingSpaces.lowercased()) else {
            throw .invalidValue(setting: setting, value: text, expected: "auto, always or off")
        }
        return policy
    }
}
