/// Why a connection or a query failed. Messages are full sentences and never contain a password.
public enum PostgresError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server could not be reached or refused the connection; `target` is the masked URL.
    case connectFailed(target: String, message: String)
    /// The server rejected the credentials (wrong password, unknown role, no `pg_hba.conf` entry).
    case authenticationFailed(target: String, message: String)
    /// The connection was not established within the deadline (e.g. the server is stopped or unreachable).
    case connectTimedOut(target: String, after: Duration)
    /// The server reported an error for the query; the connection is still usable.
    case server(ServerError)
    /// The query did not finish within its timeout. It was cancelled; if the server did not confirm the cancel
    /// quickly, the connection was closed (check `PostgresConnection.isBroken`).
    case queryTimedOut(after: Duration)
    /// The connection broke (socket closed, backend terminated); it cannot be used again.
    case connectionLost(message: String)
    /// A row accessor named a column the result does not have.
    case columnNotFound(String)
    /// A value could not be converted to the requested type.
    case typeMismatch(column: String, value: String, expected: String)
    /// The connection was closed with `close()` before this call.
    case connectionClosed
    /// The SQL text (`parameter` nil; `sqlPrefix` is the text before the NUL) or text parameter `$parameter`
    /// contains a NUL byte at byte `offset`. PostgreSQL text cannot hold one and libpq would silently cut the value
    /// there, so nothing was sent.
    case embeddedNUL(parameter: Int?, offset: Int, sqlPrefix: String?)

    /// An error reported by the server, with the fields of its ErrorResponse.
    public struct ServerError: Sendable, Hashable, CustomStringConvertible {
        /// The five-character SQLSTATE code, e.g. `23505` for a unique violation.
        public var sqlState: String
        /// `ERROR`, `FATAL` or `PANIC` (not localized).
        public var severity: String
        /// The primary message.
        public var message: String
        /// The optional detail line.
        public var detail: String?
        /// The optional hint line.
        public var hint: String?
        /// The 1-based character position in the query the error refers to, if any.
        public var position: Int?

        public init(
            sqlState: String, severity: String, message: String, detail: String? = nil, hint: String? = nil,
            position: Int? = nil
        ) {
            self.sqlState = sqlState
            self.severity = severity
            self.message = message
            self.detail = detail
            self.hint = hint
            self.position = position
        }

        public var description: String {
            var text = "The server reported \(severity) \(sqlState): \(message)"
            if !text.hasSuffix(".") { text += "." }
            if let detail { text += " Detail: \(detail)" }
            if let hint { text += " Hint: \(hint)" }
            if let position { text += " (at character \(position))" }
            return text
        }
    }

    public var description: String {
        switch self {
        case .connectFailed(let target, let message):
            return "Could not connect to \(target): \(message)"
        case .authenticationFailed(let target, let message):
            return "Authentication failed for \(target): \(message)"
        case .connectTimedOut(let target, let after):
            return "Could not connect to \(target) within \(after.millisecondsText)."
        case .server(let error):
            return error.description
        case .queryTimedOut(let after):
            return "The query did not finish within \(after.millisecondsText) and was cancelled."
        case .connectionLost(let message):
            return "The connection to the server was lost: \(message)"
        case .columnNotFound(let column):
            return "The query result has no column \(column)."
        case .typeMismatch(let column, let value, let expected):
            return "The value '\(value)' in column \(column) is not \(expected)."
        case .connectionClosed:
            return "The connection was already closed."
        case .embeddedNUL(let parameter?, let offset, _):
            return "Parameter $\(parameter) contains a NUL byte (\\0) at byte \(offset): PostgreSQL text cannot hold "
                + "one and libpq would cut the value there. Nothing was sent."
        case .embeddedNUL(nil, let offset, let prefix):
            let shown = (prefix ?? "").suffix(60)
            return "The SQL text contains a NUL byte (\\0) at byte \(offset), after \"\(shown)\": libpq would drop "
                + "everything after it. Nothing was sent."
        }
    }

    /// The SQLSTATE of a server error, nil for other kinds.
    public var sqlState: String? {
        if case .server(let error) = self { return error.sqlState }
        return nil
    }

    /// True when the connection (or the server) is the problem rather than the query: failed, timed-out or
    /// lost connections, and server errors of class 08 (connection exception) and 57P01–57P03 (shutdown,
    /// crash shutdown, cannot connect now). A query timeout is not included: check `isBroken` after it.
    public var isConnectionLevel: Bool {
        switch self {
        case .connectFailed, .authenticationFailed, .connectTimedOut, .connectionLost, .connectionClosed:
            return true
        case .server(let error):
            return error.sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(error.sqlState)
        case .queryTimedOut, .columnNotFound, .typeMismatch, .embeddedNUL:
            return false
        }
    }

    /// True for SQLSTATE 25006 (read-only transaction): on a pooled connection, the server was demoted to a standby.
    public var isReadOnlyTransaction: Bool { sqlState == "25006" }
}

extension Duration {
    /// "300 ms" or "1.5 s", for messages.
    var millisecondsText: String {
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if milliseconds < 10_000 { return "\(milliseconds) ms" }
        return "\(Double(milliseconds) / 1000) s"
    }
}
