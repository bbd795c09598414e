extension ConnectionManager {
    /// Whether SQLSTATE 25006 (read-only transaction) on `connection` means its server is a standby now — the
    /// failover machine's "demoted" — rather than the caller's own read-only transaction (`SET TRANSACTION READ
    /// ONLY`, `BEGIN READ ONLY`, `SET default_transaction_read_only`) on a healthy primary.
    ///
    /// PostgreSQL 14+ reports `in_hot_standby` (ParameterStatus, no round trip). Older servers are asked
    /// `pg_is_in_recovery()`: on this connection when it is outside a transaction, else (a failed transaction
    /// accepts nothing but ROLLBACK) on the probe connection of the same server. A server that cannot answer is not
    /// called demoted: connection-level errors reach the failover machine on their own. A primary fenced with
    /// `default_transaction_read_only` is not a standby either, as for the health checks.
    func serverIsStandby(_ connection: PostgresConnection) -> Bool {
        if let hotStandby = connection.parameterStatus("in_hot_standby") { return hotStandby == "on" }
        if connection.transactionStatus == .idle,
            let answer = try? connection.execute("SELECT pg_is_in_recovery()", timeout: factory.maintenanceTimeout),
            answer.rowCount == 1
        {
            return (try? answer[row: 0].bool(0)) == true
        }
        let index = factory.targetIndex(ofBackend: connection.backendPID) ?? currentTargetIndex
        return probes.check(index).isInRecovery == true
    }
}
