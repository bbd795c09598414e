import CLibPQ

/// Where one query's reading of its results is: what `PostgresConnection.advance`, `waited` and `finish` share
/// between waits for the socket. The blocking path waits in `poll()`, the async path in `SocketReactor`; the
/// rules (the deadline, the cancel at the deadline, COPY refused, the first error kept) are written once.
struct ResultCollector {
    /// The query's timeout, for messages (zero when it has none).
    let timeout: Duration
    /// When the wait gives up: the timeout's deadline, then the cancel grace after a cancel was sent.
    var deadline: ContinuousClock.Instant?
    /// libpq still holds output to send (`PQflush` answered 1): wait until the socket is writable.
    var isFlushing = true
    /// The last successful result so far; owned here until `finish` hands it to a `QueryResult`.
    var last: OpaquePointer?
    var firstError: PostgresError.ServerError?
    /// A `COPY TO STDOUT` is being drained (its rows are discarded: the statement fails).
    var copyingOut = false
    /// The cancel request sent when the deadline passed.
    var timeoutCancel: CancelRequest?
    /// The grace ran out and what the server had sent by then was read once (`waited`).
    var readAfterGrace = false

    /// The clock is read only when there is a timeout: the plain path costs what PQexec costs.
    init(timeout: Duration?) {
        self.timeout = timeout ?? .zero
        deadline = timeout.map { ContinuousClock.now + $0 }
    }

    /// Frees a result that `finish` did not hand over (an error was thrown on the way).
    mutating func discard() {
        if let last { PQclear(last) }
        last = nil
    }
}

extension StatementScan {
    /// Whether a `COMMIT`/`END`/`PREPARE TRANSACTION` in the scanned SQL answered `ROLLBACK`: the transaction had
    /// failed, and the server rolled it back without an error.
    func commitRolledBack(_ result: QueryResult) -> Bool {
        endsTransaction && !rollsBack && result.commandTagIs("ROLLBACK")
    }
}
