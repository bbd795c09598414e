/// A unit of work on one pooled connection: the seed's `get_session` / `session_scope`.
///
/// The transaction starts with the first statement (`BEGIN` is sent then, not before, so a session that
/// runs nothing costs no round trip). `commit()` and `rollback()` end it; the next statement starts a new
/// one. `close()` rolls back anything uncommitted and gives the connection back; it also happens when
/// the session is deallocated, so a forgotten session cannot keep a connection forever.
/// Use a session from one thread (or task) at a time.
public final class Session: @unchecked Sendable {
    // Safety: mutable state is only touched by the session's single holder, as with the connection itself.
    let lease: ConnectionPool<PostgresConnectionFactory>.Lease
    /// Strong: a session keeps its manager (and so its pool) alive until it is closed.
    let manager: ConnectionManager
    private var isClosed = false
    private var isInTransaction = false

    init(lease: ConnectionPool<PostgresConnectionFactory>.Lease, manager: ConnectionManager) {
        self.lease = lease
        self.manager = manager
    }

    deinit {
        close()
    }

    /// The pool's id of the physical connection (as shown in leak reports).
    public var connectionID: Int { lease.connectionID }
    /// The server process serving this session (`pg_backend_pid()`).
    public var backendPID: Int32 { lease.connection.backendPID }

    /// Runs one statement inside the session's transaction, with bound parameters (`$1`, `$2`, …).
    /// Blocks this thread; from a task use the `async` overload, which suspends the task instead.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PostgresValue] = [], timeout: Duration? = nil) throws
        -> QueryResult
    {
        if isClosed { throw SessionError.closed }
        // Also after the caller ended the transaction with SQL of their own (`COMMIT`, `ROLLBACK`): the next
        // statement must not run in autocommit mode behind the session's back.
        if !isInTransaction || lease.connection.transactionStatus == .idle {
            try manager.run("BEGIN", [], timeout: timeout, on: lease)
            isInTransaction = true
        }
        return try manager.run(sql, parameters, timeout: timeout, on: lease)
    }

    /// Runs one statement (and the `BEGIN` before the first) from a task: each is sent from the task, which
    /// suspends until its reply arrives. Cancelling the task cancels the statement (`CancellationError`).
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PostgresValue] = [], timeout: Duration? = nil) async throws
        -> QueryResult
    {
        if isClosed { throw SessionError.closed }
        if !isInTransaction || lease.connection.transactionStatus == .idle {
            try await manager.runFromTask("BEGIN", [], timeout: timeout, on: lease)
            isInTransaction = true
        }
        return try await manager.runFromTask(sql, parameters, timeout: timeout, on: lease)
    }

    /// Commits the work done since the first statement (or the last commit/rollback). No-op when none.
    /// - Throws: ``SessionError/commitRolledBack`` when the server rolled the transaction back instead, because a
    ///   statement in it had failed (an error the caller caught or ignored): nothing of it was committed. The
    ///   session stays usable; its next statement starts a new transaction.
    public func commit() throws {
        if isClosed { throw SessionError.closed }
        guard isInTransaction else { return }
        isInTransaction = false
        // `run` throws `.commitRolledBack` when COMMIT answers ROLLBACK.
        try manager.run("COMMIT", [], timeout: nil, on: lease)
        // After COMMIT the server is outside any transaction; anything else means the commit was not confirmed:
        // end whatever is open so that nothing of it can be committed later, and say so.
        if lease.connection.transactionStatus != .idle {
            _ = try? manager.run("ROLLBACK", [], timeout: nil, on: lease)
            throw SessionError.commitRolledBack
        }
    }

    /// Commits from a task, as the blocking `commit()`.
    public func commit() async throws {
        if isClosed { throw SessionError.closed }
        guard isInTransaction else { return }
        isInTransaction = false
        try await manager.runFromTask("COMMIT", [], timeout: nil, on: lease)
        if lease.connection.transactionStatus != .idle {
            _ = try? await manager.runFromTask("ROLLBACK", [], timeout: nil, on: lease, cancellable: false)
            throw SessionError.commitRolledBack
        }
    }

    /// Rolls back the work done since the first statement (or the last commit/rollback). No-op when none.
    public func rollback() throws {
        if isClosed { throw SessionError.closed }
        guard isInTransaction else { return }
        isInTransaction = false
        try manager.run("ROLLBACK", [], timeout: nil, on: lease)
    }

    /// Rolls back from a task, also when the task was cancelled (a rollback must happen).
    public func rollback() async throws {
        if isClosed { throw SessionError.closed }
        guard isInTransaction else { return }
        isInTransaction = false
        try await manager.runFromTask("ROLLBACK", [], timeout: nil, on: lease, cancellable: false)
    }

    /// Marks this session as expected to be long (a migration, a report): it raises no leak alarm.
    public func markExpectedLong() {
        lease.markExpectedLong(true)
    }

    /// Gives the connection back; anything not committed is rolled back (by the pool's checkin). Idempotent.
    public func close() {
        if isClosed { return }
        isClosed = true
        isInTransaction = false
        manager.checkin(lease)
    }
}
