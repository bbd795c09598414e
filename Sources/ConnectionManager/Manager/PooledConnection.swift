/// A connection lent by a ``ConnectionManager`` in autocommit mode: each statement commits on its own.
///
/// Valid only inside the `withConnection` body (or until `close()`); use it from one thread at a time.
/// A value (no allocation per checkout): copies refer to the same loan, and closing one closes them all.
public struct PooledConnection: Sendable {
    let lease: ConnectionPool<PostgresConnectionFactory>.Lease
    /// Not retained: the manager outlives this value, which only exists inside `withConnection`, a method of that
    /// manager. Reached without retaining it either (its reference count is shared by every thread).
    let managerReference: Unmanaged<ConnectionManager>

    /// Given back (by `close()` or the end of `withConnection`): read from the pool's per-slot lease word.
    private var isClosed: Bool { lease.isCheckedIn }

    init(lease: ConnectionPool<PostgresConnectionFactory>.Lease, manager: ConnectionManager) {
        self.lease = lease
        managerReference = .passUnretained(manager)
    }

    /// The pool's id of this physical connection (as shown in leak reports).
    public var connectionID: Int { lease.connectionID }
    /// The server process serving it (`pg_backend_pid()`).
    public var backendPID: Int32 { lease.connection.backendPID }
    /// The raw libpq connection, for what this API does not cover. Do not close it or keep it.
    public var connection: PostgresConnection { lease.connection }

    /// Runs one statement with bound parameters (`$1`, `$2`, …) under the manager's query timeout
    /// (or `timeout`). Blocks this thread; use ``ConnectionManager/withConnection(_:)-async`` from tasks.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PostgresValue] = [], timeout: Duration? = nil) throws
        -> QueryResult
    {
        if isClosed { throw SessionError.closed }
        let result = managerReference._withUnsafeGuaranteedRef { manager in
            Result { try manager.run(sql, parameters, timeout: timeout, on: lease) }
        }
        return try result.get()
    }

    /// Runs one statement like ``execute(_:_:timeout:)``, from a task: one round trip, sent from the task, which
    /// suspends until the reply arrives (no thread waits for it, and the cooperative pool is never blocked).
    /// - Throws: `CancellationError` when the task is cancelled (the statement is cancelled on the server, or not
    ///   sent; the connection stays usable or, if the server did not take the cancel, is closed at checkin), else
    ///   what the blocking `execute` throws.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PostgresValue] = [], timeout: Duration? = nil) async throws
        -> QueryResult
    {
        if isClosed { throw SessionError.closed }
        return try await managerReference.takeUnretainedValue().runFromTask(
            sql, parameters, timeout: timeout, on: lease)
    }

    /// Marks this checkout as expected to be long (a migration, a report): it raises no leak alarm.
    public func markExpectedLong() {
        lease.markExpectedLong(true)
    }

    /// Gives the connection back to the pool. Idempotent.
    public func close() {
        managerReference._withUnsafeGuaranteedRef { $0.checkin(lease) }
    }
}
