import Dispatch
import Foundation

extension ConnectionManager {
    typealias Lease = ConnectionPool<PostgresConnectionFactory>.Lease

    // MARK: Autocommit connections

    /// Lends a connection in autocommit mode for the duration of `body`, then gives it back (also when
    /// `body` throws). Blocks this thread while waiting for a free connection (at most `poolTimeout`).
    /// - Throws: ``PoolError`` when no connection could be had (saturated, or server unreachable), then
    ///   whatever `body` throws (``PostgresError`` for failed statements).
    public func withConnection<T>(_ body: (PooledConnection) throws -> T) throws -> T {
        let connection = PooledConnection(lease: try checkoutLease(expectedLong: false), manager: self)
        defer { connection.close() }
        return try body(connection)
    }

    /// Like ``withConnection(_:)`` for tasks: waiting suspends the task, and the connection's `async` statements
    /// suspend it until their reply arrives (`SocketReactor`: no thread per statement), never blocking the
    /// cooperative pool.
    /// The connection goes back inline when that needs no round trip (the usual autocommit case), else from
    /// the connection's thread (a rollback of a transaction left open).
    public func withConnection<T: Sendable>(
        isolation: isolated (any Actor)? = #isolation, _ body: (PooledConnection) async throws -> T
    ) async throws -> T {
        let lease = try await checkoutLeaseAsync(expectedLong: false)
        let connection = PooledConnection(lease: lease, manager: self)
        do {
            let value = try await body(connection)
            await giveBack(lease) { connection.close() }
            return value
        } catch {
            await giveBack(lease) { connection.close() }
            throw error
        }
    }

    // MARK: Sessions

    /// The seed's `session_scope`: runs `body` in a transaction that commits when it returns and rolls
    /// back when it throws; the connection always goes back to the pool.
    /// - Parameter expectedLong: this session may be held long (a migration, a report): no leak alarm.
    public func withSession<T>(expectedLong: Bool = false, _ body: (Session) throws -> T) throws -> T {
        let session = try self.session(expectedLong: expectedLong)
        defer { session.close() }
        do {
            let value = try body(session)
            try session.commit()
            return value
        } catch {
            try? session.rollback()
            throw error
        }
    }

    /// The async ``withSession(expectedLong:_:)-1k7ld``: waiting for a connection suspends the task instead of
    /// blocking a thread of the cooperative pool; its statements wait for their replies in the `SocketReactor`.
    public func withSession<T: Sendable>(
        expectedLong: Bool = false, isolation: isolated (any Actor)? = #isolation, _ body: (Session) async throws -> T
    ) async throws -> T {
        let lease = try await checkoutLeaseAsync(expectedLong: expectedLong)
        let session = Session(lease: lease, manager: self)
        do {
            let value = try await body(session)
            try await session.commit()
            await giveBack(lease) { session.close() }
            return value
        } catch {
            try? await session.rollback()
            await giveBack(lease) { session.close() }
            throw error
        }
    }

    /// The seed's `get_session`: a session you end yourself with `commit()`/`rollback()` and `close()`.
    /// Blocks this thread while waiting for a free connection (at most `poolTimeout`).
    public func session(expectedLong: Bool = false) throws -> Session {
        Session(lease: try checkoutLease(expectedLong: expectedLong), manager: self)
    }

    // MARK: Plumbing shared by sessions and connections

    func checkoutLease(expectedLong: Bool) throws(PoolError) -> Lease {
        let lease: Lease
        do {
            lease = try pool.checkout(captureStack: shouldCaptureStack())
        } catch {
            checkoutFailed(error)
            throw error
        }
        if expectedLong { lease.markExpectedLong(true) }
        return lease
    }

    /// The lane first, synchronously (`ConnectionPool.checkoutFromLane`: a parked connection costs no async
    /// checkout frame), else the pool's async checkout. One stack-capture decision for both.
    func checkoutLeaseAsync(expectedLong: Bool) async throws(PoolError) -> Lease {
        let captureStack = shouldCaptureStack()
        let lease: Lease
        if let parked = pool.checkoutFromLane(captureStack: captureStack) {
            lease = parked
        } else {
            do {
                lease = try await pool.checkout(captureStack: captureStack)
            } catch {
                checkoutFailed(error)
                throw error
            }
        }
        if expectedLong { lease.markExpectedLong(true) }
        return lease
    }

    @inline(__always)
    private func shouldCaptureStack() -> Bool {
        guard configuration.leakDetectionEnabled else { return false }
        switch configuration.stackCapture {
        case .off: return false
        case .always: return true
        case .sampled:
            let n = checkoutCounter.wrappingAdd(1, ordering: .relaxed).oldValue
            return configuration.stackCapture.shouldCapture(checkoutNumber: n)
        }
    }

    private func checkoutFailed(_ error: PoolError) {
        switch error {
        case .timedOut:
            record(.poolTimeout, "\(error)", throttleKey: "pool_timeout")
        case .connectFailed(let underlying):
            record(.connectFailed, "\(error)", throttleKey: "connect_failed \(underlying)")
            if let postgres = underlying as? PostgresError { observe(postgres) }
        case .connectBackoff(let lastError, _):
            // The pool already backs off: no health check or failover step per caller (the failure that opened
            // the breaker reached them through the open's own error).
            record(.connectFailed, "\(error)", throttleKey: "connect_backoff \(lastError)")
            if let postgres = lastError as? PostgresError { observe(postgres) }
        case .shutDown, .cancelled:
            break
        }
    }

    /// Runs one statement on a lent connection, watching for failures the manager must act on.
    /// - Throws: ``SessionError/commitRolledBack`` when `sql` commits (`COMMIT`, `END`) and the server answered
    ///   `ROLLBACK` (an earlier statement of the transaction had failed), besides the statement's own errors.
    @discardableResult
    func run(_ sql: String, _ parameters: [PostgresValue], timeout: Duration?, on lease: Lease) throws
        -> QueryResult
    {
        try prepareToRun(sql, on: lease)
        let ran: (result: QueryResult, commitRolledBack: Bool)
        do {
            ran = try lease.connection.run(sql, parameters, timeout: timeout ?? configuration.queryTimeout)
        } catch {
            throw failed(error, on: lease)
        }
        return try committed(ran)
    }

    /// `run` from a task: the statement goes through the `SocketReactor` (no thread per statement), and only a
    /// failure, whose handling may block (a probe of the server, a failover step), hops to the connection's thread.
    /// `cancellable: false` runs it even when the task was cancelled (a rollback).
    @discardableResult
    func runFromTask(
        _ sql: String, _ parameters: [PostgresValue], timeout: Duration?, on lease: Lease, cancellable: Bool = true
    ) async throws -> QueryResult {
        try prepareToRun(sql, on: lease)
        let ran: (result: QueryResult, commitRolledBack: Bool)
        do {
            ran = try await lease.connection.runFromTask(
                sql, parameters, timeout: timeout ?? configuration.queryTimeout, cancellable: cancellable)
        } catch let error as PostgresError {
            throw await lease.connection.performUncancellable { self.failed(error, on: lease) }
        }
        return try committed(ran)
    }

    /// Before a statement: refuses a connection terminated as a leak, records the SQL for leak reports.
    private func prepareToRun(_ sql: String, on lease: Lease) throws {
        if terminatedCount.load(ordering: .relaxed) > 0, isTerminated(lease.connectionID) {
            throw SessionError.terminatedAsLeak(connectionID: lease.connectionID)
        }
        if configuration.leakDetectionEnabled { lease.recordSQL(sql) }
    }

    /// The error to throw for a failed statement, after telling the manager's machine (which may probe the server
    /// and fail over: it can block).
    private func failed(_ error: PostgresError, on lease: Lease) -> any Error {
        if isTerminated(lease.connectionID) { return SessionError.terminatedAsLeak(connectionID: lease.connectionID) }
        // A caller's own read-only transaction on a healthy primary says nothing about the server.
        if error.isReadOnlyTransaction, !serverIsStandby(lease.connection) { return error }
        observe(error)
        return error
    }

    /// COMMIT of a failed transaction answers ROLLBACK without an error: a commit that did not commit.
    private func committed(_ ran: (result: QueryResult, commitRolledBack: Bool)) throws -> QueryResult {
        if ran.commitRolledBack { throw SessionError.commitRolledBack }
        return ran.result
    }

    /// Gives a lease back to the pool. A connection ended with `terminate(leak:)` is closed first (its backend is
    /// gone, which libpq may not know yet): the checkin's reset then finds it broken and the pool discards it
    /// instead of lending the dead backend to the next borrower. One relaxed load when nothing was terminated.
    func checkin(_ lease: Lease) {
        guard terminatedCount.load(ordering: .relaxed) > 0, !lease.isCheckedIn, isTerminated(lease.connectionID)
        else {
            lease.checkin()
            return
        }
        lease.connection.markBroken("The connection was terminated on the server as a leak.")
        lease.checkin()
        // Connection ids are never reused: the id can go now.
        step { $0.terminatedConnectionReturned(lease.connectionID) }
    }

    func isTerminated(_ connectionID: Int) -> Bool {
        state.withLock { $0.machine.isTerminated(connectionID) }
    }

    /// Gives a connection back from a task: inline when the checkin's reset makes no round trip, else on the
    /// connection's own thread (it may roll back a transaction). Runs even when the task was cancelled.
    private func giveBack(_ lease: Lease, _ close: @escaping @Sendable () -> Void) async {
        if !factory.resetNeedsRoundTrip(lease.connection) {
            close()
            return
        }
        await lease.connection.performUncancellable(close)
    }
}
