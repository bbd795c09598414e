/// Errors of a session or pooled connection that are not the server's or the pool's.
public enum SessionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The session (or connection lease) was already closed and given back to the pool.
    case closed
    /// Someone ended this connection on the server because it was held as a leak (`terminate(leak:)`).
    case terminatedAsLeak(connectionID: Int)
    /// The manager was shut down.
    case managerShutDown
    /// A `COMMIT` (the session's, or one the caller sent as SQL) did not commit: an earlier statement of the
    /// transaction failed (its error was caught or ignored), so the server rolled the whole transaction back.
    case commitRolledBack

    public var description: String {
        switch self {
        case .closed:
            return "This session was already closed and its connection given back to the pool."
        case .terminatedAsLeak(let id):
            return "Connection \(id) was terminated on the server because it was held past the leak threshold; "
                + "give it back and check out a new one."
        case .managerShutDown:
            return "The connection manager was shut down."
        case .commitRolledBack:
            return "The commit did not commit: the server rolled the transaction back because an earlier "
                + "statement in it failed (its error was caught or ignored). Nothing of this transaction was committed."
        }
    }
}
