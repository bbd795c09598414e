import Foundation
import Synchronization

/// Runs health checks with connections of its own (one per target, kept open between checks while periodic checks
/// run), so a saturated pool never reads as a sick server. Also answers the manager's other monitoring queries
/// (`pg_stat_activity`, `pg_terminate_backend`) on those connections.
///
/// A kept connection only proves that established sessions answer: a frozen postmaster (SIGSTOP, fork limits, a full
/// `max_connections`) still serves them while every new connection times out, which is what the pool's callers see.
/// So a check replaces a kept connection older than `freshConnectionEvery` with a new one, under the connect deadline.
/// Without periodic checks (`keepsConnections` false) nothing is kept: an on-demand probe must not hold a server slot
/// for good (with connections capped per user it would take the one the pool needs to reconnect).
///
/// A connection is taken out of the table while in use and put back after: the lock is never held
/// across a libpq call.
final class HealthProbe: Sendable {
    static let checkSQL = "SELECT pg_is_in_recovery()::text, current_setting('server_version')"

    let targets: [DatabaseURL]
    let connectTimeout: Duration
    let applicationName: String
    /// Whether connections stay open between uses (true while periodic health checks run).
    let keepsConnections: Bool
    /// A check opens a new connection when the kept one is older than this.
    let freshConnectionEvery: Duration
    /// The targets' passwords, scrubbed from every result's error.
    let secrets: SecretScrubber
    private let idle: PoolLock<[Int: Kept]> = PoolLock([:])

    private struct Kept: Sendable {
        let connection: PostgresConnection
        let openedAt: ContinuousClock.Instant
    }

    init(
        targets: [DatabaseURL], connectTimeout: Duration, applicationName: String, keepsConnections: Bool = true,
        freshConnectionEvery: Duration = .seconds(30)
    ) {
        self.targets = targets
        self.connectTimeout = connectTimeout
        self.applicationName = applicationName
        self.keepsConnections = keepsConnections
        self.freshConnectionEvery = freshConnectionEvery
        secrets = SecretScrubber(targets)
    }

    /// How often checks every `interval` open a fresh connection: every 5 checks, between 1 s and 30 s apart.
    static func freshConnectionEvery(checkInterval interval: Duration) -> Duration {
        min(max(interval * 5, .seconds(1)), .seconds(30))
    }

    /// `SELECT 1`-equivalent plus the role and version, under the connect deadline for each step.
    func check(_ index: Int) -> HealthCheckResult {
        let url = targets[index]
        let checkedAt = Date()
        let started = ContinuousClock.now
        do {
            return try withConnection(index, maxAge: freshConnectionEvery) { connection in
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
    /// - Parameter maxAge: a kept connection older than this is closed and replaced by a new one first.
    func withConnection<T>(_ index: Int, maxAge: Duration? = nil, _ body: (PostgresConnection) throws -> T) throws
        -> T
    {
        var kept = idle.withLock { $0.removeValue(forKey: index) }
        if let old = kept,
            old.connection.isBroken || maxAge.map({ old.openedAt.duration(to: .now) >= $0 }) ?? false
        {
            old.connection.close()
            kept = nil
        }
        let usable =
            try kept
            ?? Kept(
                connection: PostgresConnection.connect(
                    to: targets[index], deadline: connectTimeout, applicationName: applicationName),
                openedAt: .now)
        defer {
            if !keepsConnections || usable.connection.isBroken || usable.connection.transactionStatus != .idle {
                usable.connection.close()
            } else {
                let displaced = idle.withLock { table -> Kept? in
                    defer { table[index] = usable }
                    return table[index]
                }
                displaced?.connection.close()
            }
        }
        return try body(usable.connection)
    }

    func closeAll() {
        let all = idle.withLock { table -> [Kept] in
            defer { table.removeAll() }
            return Array(table.values)
        }
        for kept in all { kept.connection.close() }
    }
}
