/// Opens, checks and closes the physical connections of a `ConnectionPool`.
///
/// The pool calls these methods outside its lock: from the thread or task that checks out or in, from a thread of
/// the pool's own for opens and pings made in the background or for tasks (`blockingIO`), or from the pool's
/// serial queue for a maintenance tick's closes. Calls for one connection never overlap; calls for different
/// connections may run concurrently.
public protocol PoolConnectionFactory: Sendable {
    associatedtype Connection: AnyObject & Sendable

    /// Opens a connection, giving up at `deadline`. Thrown errors reach the caller as `PoolError.connectFailed`.
    func open(deadline: ContinuousClock.Instant) throws -> Connection
    /// Closes a connection. Must not throw or block for long; the pool forgets it afterwards.
    func close(_ connection: Connection)
    /// Round-trips to the server (e.g. an empty query). `false` means the connection is dead.
    func ping(_ connection: Connection) -> Bool
    /// Prepares a returned connection for its next user: rolls back a transaction left open and restores the
    /// session state the borrower changed. Returns `false` when the connection is broken (e.g. `CONNECTION_BAD`)
    /// or could not be reset, and must not be reused (the pool closes it). Runs on every checkin, outside the
    /// pool's lock, so it should be cheap when there is nothing to do.
    func reset(_ connection: Connection) -> Bool
    /// The server process behind the connection (`PQbackendPID`), recorded once when it opens.
    func backendPID(_ connection: Connection) -> Int32
    /// Something that changes when the server restarts (e.g. `pg_postmaster_start_time()`), or `nil` when
    /// unknown. Asked on the pool's first open and on the next open after a connection was found dead.
    func serverIdentity(_ connection: Connection) -> String?
    /// How many checkins so far restored a connection's session state (beyond a rollback); 0 by default.
    var sessionResets: Int { get }
    /// Retrying after this connect error will not help (wrong password, unknown database): checkouts fail at once
    /// instead of waiting for the breaker's next attempt. Default: false (every error may be transient).
    func isPermanentConnectError(_ error: any Error) -> Bool
}

extension PoolConnectionFactory {
    public var sessionResets: Int { 0 }
    public func isPermanentConnectError(_ error: any Error) -> Bool { false }
}
