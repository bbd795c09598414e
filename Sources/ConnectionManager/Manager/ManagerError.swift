/// Errors of a session or pooled connection that are not the server's or the pool's.
public enum SessionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The session (or connection lease) was already closed and given back to the pool.
    case closed
    /// Someone ended this connection on the server because it was held as a leak (`terminate(leak:)`).
    case terminatedAsLeak(connectionID: Int)
    /// The manager was shut down.
    case managerShutDown

    public var description: String {
        switch self {
        case .closed:
            return "This session was already closed and its connection given back to the pool."
        case .terminatedAsLeak(let id):
            return "Connection \(id) was terminated on the server because it was held past the leak threshold; "
                + "give it back and check out a new one."
        case .managerShutDown:
            return "The connection manager was shut down."
        }
    }
}
