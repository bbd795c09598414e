import Synchronization

/// Opens pooled connections to the manager's current target with libpq, under the connect deadline.
///
/// The target changes on failover (`retarget`); the pool's generation is bumped at the same time, so
/// connections to the old server are closed as they come back. Until then, `targetIndex(ofBackend:)` says which
/// server a connection lives on, so leak lookups and terminations go to the right one.
final class PostgresConnectionFactory: PoolConnectionFactory {
    typealias Connection = PostgresConnection

    /// Every target, index 0 = `databaseURL` (as in `ConnectionPoolConfig.targets`).
    let targets: [DatabaseURL]
    // Both under `PoolLock`, not `Mutex`: opens and closes from many threads contend here, and `Mutex`'s contended
    // hand-over (a priority-inheritance futex on Linux) happens in the kernel, where the thread sanitizer cannot
    // see it (it reported these updates as a race; `PostgresConnectionFactoryTests`).
    /// Index of the target new connections go to.
    private let current = PoolLock(0)
    /// Target index of each open connection, by backend pid; a list because two servers may use the same pid.
    private let openConnections = PoolLock<[Int32: [Int]]>([:])
    let applicationName: String
    /// Deadline for the round trips the pool makes on its own (pre-ping, rollback and reset on checkin).
    let maintenanceTimeout: Duration
    /// What a checkin does to the session state a borrower left behind.
    let sessionReset: SessionResetPolicy
    private let resets = Atomic<Int>(0)

    init(
        targets: [DatabaseURL], applicationName: String, maintenanceTimeout: Duration,
        sessionReset: SessionResetPolicy = .auto
    ) {
        self.targets = targets
        self.applicationName = applicationName
        self.maintenanceTimeout = maintenanceTimeout
        self.sessionReset = sessionReset
    }

    var sessionResets: Int { resets.load(ordering: .relaxed) }

    var currentTarget: DatabaseURL { targets[current.withLock { $0 }] }

    /// New connections go to the target at `index`.
    func retarget(to index: Int) {
        current.withLock { $0 = index }
    }

    /// The target index of the open connection served by backend `pid`; nil when no open connection has that pid,
    /// or when connections to two servers do (then nobody can tell which one is meant).
    func targetIndex(ofBackend pid: Int32) -> Int? {
        openConnections.withLock { table in
            guard let indexes = table[pid], let first = indexes.first, indexes.allSatisfy({ $0 == first }) else {
                return nil
            }
            return first
        }
    }

    /// The backend pids of every open connection (lent or idle) to the target at `index`.
    func backendPIDs(onTarget index: Int) -> Set<Int32> {
        openConnections.withLock { table in Set(table.filter { $0.value.contains(index) }.keys) }
    }

    func open(deadline: ContinuousClock.Instant) throws -> PostgresConnection {
        let index = current.withLock { $0 }
        let remaining = ContinuousClock.now.duration(to: deadline)
        let connection = try PostgresConnection.connect(
            to: targets[index], deadline: max(remaining, .milliseconds(1)), applicationName: applicationName)
        openConnections.withLock { $0[connection.backendPID, default: []].append(index) }
        return connection
    }

    func close(_ connection: PostgresConnection) {
        let pid = connection.backendPID
        // Masked URLs are unique among targets (duplicates are refused by `validate()`).
        let index = targets.firstIndex { $0.masked == connection.target }
        openConnections.withLock { table in
            guard var indexes = table[pid] else { return }
            if let position = index.flatMap(indexes.firstIndex(of:)) ?? indexes.indices.first {
                indexes.remove(at: position)
            }
            table[pid] = indexes.isEmpty ? nil : indexes
        }
        connection.close()
    }

    func ping(_ connection: PostgresConnection) -> Bool {
        !connection.isBroken && connection.ping(timeout: maintenanceTimeout)
    }

    /// Runs on every checkin, on the thread giving the connection back, outside the pool's lock (machine and lane
    /// leases alike: `ConnectionPool.checkin` is the only way back). Rolls back what the borrower left open, then
    /// restores the session state per `sessionReset`; false (the pool closes the connection) when either fails.
    func reset(_ connection: PostgresConnection) -> Bool {
        if connection.isBroken { return false }
        switch connection.transactionStatus {
        case .idle:
            break
        case .inTransaction, .inError:
            // A transaction left open would hold locks and leak state into the next user's work.
            do {
                try connection.rollback(timeout: maintenanceTimeout)
            } catch {
                return false
            }
            guard connection.transactionStatus == .idle else { return false }
        case .active, .unknown:
            // A query still running (or a connection in an unknown state) cannot be handed to someone else.
            return false
        }
        switch sessionReset {
        case .off:
            return true
        case .auto:
            // Two cheap signals, no I/O: the statements' text (flagged as they were sent) and the parameters
            // the server reports, compared with their values at connect (only after a query ran: ≈ 0.2 µs).
            guard connection.sessionStateMayHaveChanged || connection.sessionParametersChangedSinceLastCheck() else {
                return true
            }
        case .always:
            break
        }
        do {
            try connection.discardSessionState(timeout: maintenanceTimeout)
        } catch {
            return false
        }
        resets.add(1, ordering: .relaxed)
        return true
    }

    /// Whether `reset` would make a round trip (a rollback, or restoring the session state); false when it only
    /// looks at what libpq already knows. Changes nothing: a task checks in inline when this is false, and hops
    /// to the connection's own thread otherwise.
    func resetNeedsRoundTrip(_ connection: PostgresConnection) -> Bool {
        if connection.isBroken { return false }
        switch connection.transactionStatus {
        case .idle: break
        case .inTransaction, .inError: return true
        case .active, .unknown: return false
        }
        switch sessionReset {
        case .off: return false
        case .auto:
            return connection.sessionStateMayHaveChanged
                || (connection.parametersNeedCheck && connection.sessionParametersChanged)
        case .always: return true
        }
    }

    /// A rejected login or a database that does not exist will not fix itself within a checkout's timeout;
    /// "too many clients" (53300), refusals and deadlines may.
    func isPermanentConnectError(_ error: any Error) -> Bool {
        switch error as? PostgresError {
        case .authenticationFailed: true
        case .connectFailed(_, let message): message.contains("database \"") && message.contains("\" does not exist")
        default: false
        }
    }

    func backendPID(_ connection: PostgresConnection) -> Int32 {
        connection.backendPID
    }

    func serverIdentity(_ connection: PostgresConnection) -> String? {
        guard
            let result = try? connection.execute(
                "SELECT pg_postmaster_start_time()::text", timeout: maintenanceTimeout),
            result.rowCount == 1
        else { return nil }
        return (try? result[row: 0].string(0)).flatMap { $0 }.map { "\(connection.target)@\($0)" }
    }
}
