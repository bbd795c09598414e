import Synchronization

/// Opens pooled connections to the manager's current target with libpq, under the connect deadline.
///
/// The target changes on failover (`retarget`); the pool's generation is bumped at the same time, so
/// connections to the old server are closed as they come back.
final class PostgresConnectionFactory: PoolConnectionFactory {
    typealias Connection = PostgresConnection

    private let target: Mutex<DatabaseURL>
    let applicationName: String
    /// Deadline for the round trips the pool makes on its own (pre-ping, rollback on checkin).
    let maintenanceTimeout: Duration

    init(target: DatabaseURL, applicationName: String, maintenanceTimeout: Duration) {
        self.target = Mutex(target)
        self.applicationName = applicationName
        self.maintenanceTimeout = maintenanceTimeout
    }

    var currentTarget: DatabaseURL { target.withLock { $0 } }

    func retarget(_ url: DatabaseURL) {
        target.withLock { $0 = url }
    }

    func open(deadline: ContinuousClock.Instant) throws -> PostgresConnection {
        let url = currentTarget
        let remaining = ContinuousClock.now.duration(to: deadline)
        return try PostgresConnection.connect(
            to: url, deadline: max(remaining, .milliseconds(1)), applicationName: applicationName)
    }

    func close(_ connection: PostgresConnection) {
        connection.close()
    }

    func ping(_ connection: PostgresConnection) -> Bool {
        !connection.isBroken && connection.ping(timeout: maintenanceTimeout)
    }

    func reset(_ connection: PostgresConnection) -> Bool {
        if connection.isBroken { return false }
        switch connection.transactionStatus {
        case .idle:
            return true
        case .inTransaction, .inError:
            // A transaction left open would hold locks and leak state into the next user's work.
            do {
                try connection.rollback(timeout: maintenanceTimeout)
                return connection.transactionStatus == .idle
            } catch {
                return false
            }
        case .active, .unknown:
            // A query still running (or a connection in an unknown state) cannot be handed to someone else.
            return false
        }
    }

    func backendPID(_ connection: PostgresConnection) -> Int32 {
        connection.backendPID
    }

    func serverIdentity(_ connection: PostgresConnection) -> String? {
        guard let result = try? connection.execute("SELECT pg_postmaster_start_time()::text", timeout: maintenanceTimeout),
            result.rowCount == 1
        else { return nil }
        return (try? result[row: 0].string(0)).flatMap { $0 }.map { "\(connection.target)@\($0)" }
    }
}
