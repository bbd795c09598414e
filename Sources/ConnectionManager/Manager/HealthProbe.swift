import Foundation
import Synchronization

/// Runs health checks with connections of its own (one per target, kept open between checks), so a
/// saturated pool never reads as a sick server. Also answers the manager's other monitoring queries
/// (`pg_stat_activity`, `pg_terminate_backend`) on those connections.
///
/// A connection is taken out of the table while in use and put back after: the lock is never held
/// across a libpq call.
final class HealthProbe: Sendable {
    static let checkSQL = "SELECT pg_is_in_recovery()::text, current_setting('server_version')"

    let targets: [DatabaseURL]
    let connectTimeout: Duration
    let applicationName: String
    /// The targets' passwords, scrubbed from every result's error.
    let secrets: SecretScrubber
    private let idle: Mutex<[Int: PostgresConnection]> = Mutex([:])

    init(targets: [DatabaseURL], connectTimeout: Duration, applicationName: String) {
        self.targets = targets
        self.connectTimeout = connectTimeout
        self.applicationName = applicationName
        secrets = SecretScrubber(targets)
    }

    /// `SELECT 1`-equivalent plus the role and version, under the connect deadline for each step.
    func check(_ index: Int) -> HealthCheckResult {
        let url = targets[index]
        let checkedAt = Date()
        let started = ContinuousClock.now
        do {
            return try withConnection(index) { connection in
                let queryStarted = ContinuousClock.now
                let result = try connection.execute(Self.checkSQL, timeout: connectTimeout)
                let row = result[row: 0]
                let elapsed = queryStarted.duration(to: .now)
                return HealthCheckResult(
                    healthy: true, responseTime: elapsed.timeInterval, checkedAt: checkedAt, target: url.masked,
                    isInRecovery: try row.bool(0), serverVersion: try row.string(1))
            }
        } catch {
            return HealthCheckResult(
                healthy: false, responseTime: started.duration(to: .now).timeInterval, error: secrets.scrub("\(error)"),
                checkedAt: checkedAt, target: url.masked)
        }
    }

    /// Runs `body` on this target's monitoring connection, opening it first when needed. A connection
    /// that broke is closed and not put back.
    func withConnection<T>(_ index: Int, _ body: (PostgresConnection) throws -> T) throws -> T {
        var connection = idle.withLock { $0.removeValue(forKey: index) }
        if connection?.isBroken ?? false {
            connection?.close()
            connection = nil
        }
        let usable =
            try connection
            ?? PostgresConnection.connect(
                to: targets[index], deadline: connectTimeout, applicationName: applicationName)
        defer {
            if usable.isBroken || usable.transactionStatus != .idle {
                usable.close()
            } else {
                let displaced = idle.withLock { table -> PostgresConnection? in
                    defer { table[index] = usable }
                    return table[index]
                }
                displaced?.close()
            }
        }
        return try body(usable)
    }

    func closeAll() {
        let all = idle.withLock { table -> [PostgresConnection] in
            defer { table.removeAll() }
            return Array(table.values)
        }
        for connection in all { connection.close() }
    }
}
