import CLibPQ

extension PostgresConnection {
    /// Runs `sql` and returns the result of its last statement.
    ///
    /// Without parameters the simple protocol sends it in one round trip (several `;`-separated statements are
    /// allowed: the last result is kept, the first error is thrown). With parameters, `$1`, `$2`, ... are bound
    /// as text, never interpolated. Blocks the calling thread in `poll()`.
    /// - Parameters:
    ///   - timeout: The longest the query may run, counted from the call; nil waits as long as it takes. When it
    ///     passes, the query is cancelled; if the server does not confirm within `cancelGrace` (50 ms), the
    ///     connection is closed. Either way `.queryTimedOut` is thrown.
    /// - Throws: `.server` (connection still usable), `.queryTimedOut`, `.connectionLost` (connection unusable),
    ///   `.connectionClosed`.
    /// - Throws: `.embeddedNUL` before anything is sent when the SQL text or a text parameter contains a NUL byte
    ///   (libpq would cut it there).
    public func execute(
        _ sql: String, _ parameters: [PostgresValue] = [], timeout: Duration? = nil
    ) throws(PostgresError) -> QueryResult {
        try run(sql, parameters, timeout: timeout).result
    }

    /// `execute`, also telling whether a `COMMIT`/`END`/`PREPARE TRANSACTION` in `sql` answered `ROLLBACK`: the
    /// transaction had failed, and the server rolled it back without an error.
    func run(
        _ sql: String, _ parameters: [PostgresValue], timeout: Duration?
    ) throws(PostgresError) -> (result: QueryResult, commitRolledBack: Bool) {
        do {
            return try send(sql, parameters, timeout: timeout)
        } catch {
            // The server quotes values in its messages; none of them may be a configured password.
            throw error.scrubbing(secrets)
        }
    }

    private func send(
        _ sql: String, _ parameters: [PostgresValue], timeout: Duration?
    ) throws(PostgresError) -> (result: QueryResult, commitRolledBack: Bool) {
        let (handle, scan) = try start(sql, parameters)
        // The clock is read only when there is a deadline: the plain path costs what PQexec costs.
        var collector = ResultCollector(timeout: timeout)
        defer { collector.discard() }
        while let events = try advance(&collector, handle) {
            let outcome =
                collector.isFlushing
                ? SocketWait.wait(PQsocket(handle), for: events, until: collector.deadline)
                : SocketWait.waitForReply(PQsocket(handle), until: collector.deadline)
            try waited(&collector, outcome, handle)
        }
        let delivered = collector.timeoutCancel.map { $0.wait(until: collector.deadline ?? .now) } ?? true
        let result = try finish(&collector, handle, timeoutCancelDelivered: delivered)
        return (result, scan.commitRolledBack(result))
    }

    /// Checks `sql` and its parameters and sends them: the part of a statement the blocking and the async path
    /// share before the reply. Returns the handle and what the scan found.
    func start(_ sql: String, _ parameters: [PostgresValue]) throws(PostgresError) -> (OpaquePointer, StatementScan) {
        let handle = try liveHandle()
        let scan = StatementScan(sql)
        if let offset = scan.nulOffset {
            throw .embeddedNUL(
                parameter: nil, offset: offset, sqlPrefix: String(decoding: sql.utf8.prefix(offset), as: UTF8.self))
        }
        for (index, parameter) in parameters.enumerated() {
            if case .text(let text) = parameter, let offset = text.utf8.firstIndex(of: 0) {
                throw .embeddedNUL(
                    parameter: index + 1, offset: text.utf8.distance(from: text.utf8.startIndex, to: offset),
                    sqlPrefix: nil)
            }
        }
        // Marked before sending: a statement that fails after changing the session (`SET ROLE x; SELECT 1/0`)
        // still changed it.
        if scan.mayChangeSessionState { sessionStateMayHaveChanged = true }
        parametersNeedCheck = true
        let sent: Int32
        if parameters.isEmpty {
            sent = PQsendQuery(handle, sql)
        } else {
            sent = CStringArray(parameters.map(\.textValue)).withPointers { values in
                PQsendQueryParams(handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
            }
        }
        guard sent == 1 else { throw lost(handle, serverError: nil) }
        return (handle, scan)
    }

    /// Whether the server answers an empty query within `timeout`. On failure the connection is closed
    /// (`isBroken` becomes true) and false is returned.
    public func ping(timeout: Duration) -> Bool {
        do {
            _ = try execute("", timeout: timeout)
            return true
        } catch {
            if !isBroken { markBroken("The connection failed a liveness check: \(error)") }
            return false
        }
    }

    /// Runs `ROLLBACK`, ending any open or failed transaction (a warning only when none is open).
    public func rollback(timeout: Duration? = nil) throws(PostgresError) {
        _ = try execute("ROLLBACK", timeout: timeout)
    }

    // MARK: - Reading results

    /// Reads what libpq has of the results without waiting: nil when the last result is in, else the socket
    /// events (`POLLIN`, `POLLIN | POLLOUT` while sending) to wait for before calling `waited` and this again.
    func advance(_ collector: inout ResultCollector, _ handle: OpaquePointer) throws(PostgresError) -> Int32? {
        while true {
            if collector.isFlushing {
                switch PQflush(handle) {
                case 0: collector.isFlushing = false
                case 1: return POLLIN | POLLOUT
                default: throw lost(handle, serverError: nil)
                }
            }
            if collector.copyingOut {
                var buffer: UnsafeMutablePointer<CChar>?
                let count = PQgetCopyData(handle, &buffer, 1)
                if let buffer { PQfreemem(buffer) }
                if count > 0 { continue }
                if count == -1 { collector.copyingOut = false; continue }
                if count == -2 { throw lost(handle, serverError: nil) }
                return POLLIN  // 0: the rest has not arrived yet.
            }
            guard PQisBusy(handle) == 0 else { return POLLIN }
            guard let result = PQgetResult(handle) else { return nil }
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                if let last = collector.last { PQclear(last) }
                collector.last = result
                continue
            case PGRES_COPY_IN:
                // Ending the copy with an error message makes the server fail the statement cleanly.
                _ = PQputCopyEnd(handle, "pooltop does not support COPY FROM STDIN")
                collector.isFlushing = true
            case PGRES_COPY_OUT:
                if collector.firstError == nil {
                    collector.firstError = .init(
                        sqlState: "0A000", severity: "ERROR", message: "COPY TO STDOUT is not supported by pooltop")
                }
                collector.copyingOut = true
            default:
                if collector.firstError == nil { collector.firstError = Self.serverError(from: result) }
            }
            PQclear(result)
        }
    }

    /// Takes in what a wait for the socket found: reads the reply, or on the deadline asks the server to cancel
    /// (and keeps reading: its answer, 57014, leaves the connection usable) and after the grace gives up.
    func waited(
        _ collector: inout ResultCollector, _ outcome: SocketWait.Outcome, _ handle: OpaquePointer
    ) throws(PostgresError) {
        switch outcome {
        case .ready(let readable):
            // While sending, reading makes room for the server to keep accepting what is sent.
            if readable || !collector.isFlushing, PQconsumeInput(handle) != 1 {
                throw lost(handle, serverError: collector.firstError)
            }
        case .timedOut where collector.isFlushing:
            markBroken(
                "A query ran past its \(collector.timeout.millisecondsText) timeout while it was being sent; "
                    + "the connection was closed.")
            throw .queryTimedOut(after: collector.timeout)
        case .timedOut where collector.timeoutCancel == nil:
            collector.timeoutCancel = cancelToken.sendInBackground()
            collector.deadline = .now + Self.cancelGrace
        case .timedOut where !collector.readAfterGrace && SocketWait.isReadableNow(PQsocket(handle)):
            // The grace ran out while this statement was not running (a thread or task waiting for a CPU on a busy
            // machine), and the server's answer is already here: read it once before calling the server silent.
            collector.readAfterGrace = true
            if PQconsumeInput(handle) != 1 { throw lost(handle, serverError: collector.firstError) }
        case .timedOut:
            markBroken(
                "A query ran past its \(collector.timeout.millisecondsText) timeout and the server did not answer "
                    + "the cancel request within \(Self.cancelGrace.millisecondsText); the connection was closed.")
            throw .queryTimedOut(after: collector.timeout)
        case .failed(let reason):
            markBroken(reason)
            throw .connectionLost(message: reason)
        }
    }

    /// The query's outcome once `advance` found the last result; `timeoutCancelDelivered` tells whether the
    /// cancel request sent at the deadline (if any) reached the server, so that it cannot hit the next query.
    func finish(
        _ collector: inout ResultCollector, _ handle: OpaquePointer, timeoutCancelDelivered: Bool
    ) throws(PostgresError) -> QueryResult {
        if collector.timeoutCancel != nil {
            if !timeoutCancelDelivered {
                markBroken("A cancel request was not confirmed by the server; the connection was closed.")
            }
            throw .queryTimedOut(after: collector.timeout)
        }
        if PQstatus(handle) == CONNECTION_BAD { throw lost(handle, serverError: collector.firstError) }
        if let firstError = collector.firstError { throw .server(firstError) }
        let result = QueryResult(raw: collector.last)
        collector.last = nil  // Now owned by `result`.
        return result
    }

    /// Marks the connection broken and returns the error to throw, preferring the server's own reason
    /// (e.g. 57P01 after `pg_terminate_backend`) over libpq's "server closed the connection unexpectedly".
    func lost(_ handle: OpaquePointer, serverError: PostgresError.ServerError?) -> PostgresError {
        var message = LibPQ.trimmed(String(cString: PQerrorMessage(handle)))
        if let serverError, !serverError.sqlState.isEmpty {
            message = "\(serverError.message) (SQLSTATE \(serverError.sqlState))."
        }
        if message.isEmpty { message = "libpq reported no reason." }
        markBroken(message)
        return .connectionLost(message: message)
    }

    /// The fields of an error result.
    private static func serverError(from result: OpaquePointer) -> PostgresError.ServerError {
        func field(_ code: Unicode.Scalar) -> String? {
            PQresultErrorField(result, Int32(code.value)).map { String(cString: $0) }
        }
        let message = field("M") ?? LibPQ.trimmed(String(cString: PQresultErrorMessage(result)))
        return PostgresError.ServerError(
            sqlState: field("C") ?? "",
            severity: field("V") ?? field("S") ?? "ERROR",
            message: message.isEmpty ? "The server sent an unexpected response." : message,
            detail: field("D"),
            hint: field("H"),
            position: field("P").flatMap { Int($0) })
    }
}
