import CLibPQ
import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One libpq connection to a PostgreSQL server, with deadlines on connecting and on queries.
///
/// Not thread-safe: one holder uses it at a time. `cancel()` is the only method that may be called from
/// another thread while a query runs.
public final class PostgresConnection: @unchecked Sendable {
    // Safety: used by one holder at a time (the pool hands it over under its lock); `cancel()`, the only
    // cross-thread call, touches nothing but the immutable `cancelToken`. `sessionStateMayHaveChanged`,
    // `baselineParameters` and `handOffHabit` follow the same rule (read and written by the holder, or by the
    // pool's checkin).

    /// The libpq connection; nil once closed or marked broken.
    private var handle: OpaquePointer?
    /// Why the connection was given up, when it was marked broken rather than closed.
    private var brokenReason: String?
    let cancelToken: CancelToken
    /// The connection's own thread for the blocking work of tasks (`perform`: a checkin's rollback, a cancel's
    /// confirmation, a failed statement's handling; every statement where there is no epoll): a serial queue, which on Linux gets a thread of its own
    /// whenever it has work (Dispatch's concurrent queues stop at about one thread per core, so blocking libpq
    /// calls there serialize behind each other). Its work is this connection's, one holder at a time.
    let executor = DispatchQueue(label: "pooltop.connection")
    /// Async statements take turns on the connection (child tasks of one holder may share it).
    let statementTurn = StatementTurn()
    /// The masked URL, for messages.
    public let target: String
    /// The process ID of the server backend serving this connection (`pg_backend_pid()`).
    public let backendPID: Int32
    /// The server version as an integer, e.g. 150018 for 15.18 (`PQserverVersion`).
    public let serverVersion: Int

    /// How long a timed-out query waits for the server to confirm its cancellation before the connection is closed.
    /// 50 ms: a live server confirms within a round trip; a stopped one never does, and the error must come
    /// within 100 ms of the deadline even on a loaded machine.
    public static let cancelGrace: Duration = .milliseconds(50)

    /// The passwords of the URL, scrubbed from every error this connection throws (the server may quote them).
    let secrets: SecretScrubber

    /// Set when a statement sent on this connection may have changed its session state (see `StatementScan`);
    /// cleared by `discardSessionState`. The pool's checkin resets the connection when it is set.
    var sessionStateMayHaveChanged = false
    /// Whether a task's statement gives its CPU to the server before yielding to other tasks, as learned on this
    /// connection (`replyArrivesWhileYielding`).
    var handOffHabit = HandOffHabit()
    /// Set when a query was sent since the reported parameters were last compared with the baseline: libpq only
    /// takes in a `ParameterStatus` while it reads a query's results, so without one nothing can have changed.
    var parametersNeedCheck = false
    /// The parameters of `SessionParameters.tracked` this server reports, with copies of their values right after
    /// connecting. A parameter not reported at startup is never reported later (the set is fixed per server
    /// version), so the others are not looked up again (a lookup of an absent name walks libpq's whole list).
    private let baselineParameters: [(name: StaticString, value: UnsafeMutablePointer<CChar>)]

    private init(handle: OpaquePointer, cancelToken: CancelToken, target: String, secrets: SecretScrubber) {
        self.handle = handle
        self.cancelToken = cancelToken
        self.target = target
        self.secrets = secrets
        self.backendPID = PQbackendPID(handle)
        self.serverVersion = Int(PQserverVersion(handle))
        baselineParameters = SessionParameters.tracked.compactMap { name in
            SessionParameters.value(handle, name).flatMap { strdup($0) }.map { (name, $0) }
        }
    }

    deinit {
        if let handle { PQfinish(handle) }
        for parameter in baselineParameters { free(parameter.value) }
    }

    // MARK: - Session state

    /// The value of a parameter the server reports (`ParameterStatus`, e.g. `in_hot_standby`, `TimeZone`) as libpq
    /// last received it; nil when the server does not report it or the connection is closed. No round trip.
    public func parameterStatus(_ name: String) -> String? {
        guard let handle, let value = PQparameterStatus(handle, name) else { return nil }
        return String(cString: value)
    }

    /// Whether a parameter the server reports (`ParameterStatus`: `session_authorization`, `is_superuser`,
    /// `TimeZone`, `application_name`, `DateStyle`, …) differs from its value right after connecting. Catches
    /// changes made anywhere, also inside functions. A few hundred nanoseconds: no I/O, libpq keeps the values.
    var sessionParametersChanged: Bool {
        guard let handle else { return false }
        for parameter in baselineParameters {
            guard let now = SessionParameters.value(handle, parameter.name), strcmp(parameter.value, now) == 0 else {
                return true
            }
        }
        return false
    }

    /// `sessionParametersChanged`, compared only when a query ran since the last comparison (else false).
    func sessionParametersChangedSinceLastCheck() -> Bool {
        guard parametersNeedCheck else { return false }
        parametersNeedCheck = false
        return sessionParametersChanged
    }

    /// Restores the session to its state right after connecting: `DISCARD ALL` (settings back to their
    /// connection defaults — which keep what the startup packet set, such as `application_name` —, role and
    /// session authorization, prepared statements, cursors, temp tables, advisory locks, `LISTEN`s, cached
    /// plans and sequence state), then drops notifications libpq already queued. Must run outside a transaction.
    /// - Throws: when `DISCARD ALL` fails, or the reported parameters still differ from the baseline afterwards.
    func discardSessionState(timeout: Duration?) throws(PostgresError) {
        _ = try execute("DISCARD ALL", timeout: timeout)
        let handle = try liveHandle()
        while let notification = PQnotifies(handle) { PQfreemem(notification) }
        if sessionParametersChanged {
            throw .connectionLost(message: "DISCARD ALL did not restore the session's reported parameters.")
        }
        sessionStateMayHaveChanged = false
        parametersNeedCheck = false
    }

    /// Opens a connection, failing when it is not established within `deadline`.
    ///
    /// Uses libpq's non-blocking connect, so the deadline holds to the millisecond even against a stopped server
    /// (libpq's own `connect_timeout` has a 2-second floor). Name resolution is not covered by the deadline.
    /// - Parameters:
    ///   - url: The server to connect to.
    ///   - deadline: The longest time to spend, counted from the call.
    ///   - applicationName: Sets `application_name` unless the URL already does.
    /// - Throws: `.connectTimedOut`, `.authenticationFailed` or `.connectFailed`, naming the masked URL.
    public static func connect(
        to url: DatabaseURL, deadline: Duration, applicationName: String? = nil
    ) throws(PostgresError) -> PostgresConnection {
        let secrets = SecretScrubber([url])
        do {
            return try open(url, deadline: deadline, applicationName: applicationName, secrets: secrets)
        } catch {
            // libpq's and the server's text (an unknown database name is echoed verbatim) may quote a password.
            throw error.scrubbing(secrets)
        }
    }

    private static func open(
        _ url: DatabaseURL, deadline: Duration, applicationName: String?, secrets: SecretScrubber
    ) throws(PostgresError) -> PostgresConnection {
        let end = ContinuousClock.now + deadline
        let target = url.masked
        // application_name comes first so that one in the URL (expanded from dbname) overrides it.
        var keywords: [String?] = ["dbname"]
        var values: [String?] = [url.connectionString]
        if let applicationName {
            keywords.insert("application_name", at: 0)
            values.insert(applicationName, at: 0)
        }
        keywords.append(nil)
        values.append(nil)
        let started = CStringArray(keywords).withPointers { keywordPointers in
            CStringArray(values).withPointers { valuePointers in
                PQconnectStartParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let handle = started else {
            throw .connectFailed(target: target, message: "libpq could not allocate a connection.")
        }
        // libpq prints NOTICEs and WARNINGs to stderr by default, which would scribble over a terminal UI — also
        // those the server sends while the connection is being set up (e.g. a truncated application_name).
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        var status = PQstatus(handle) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING
        while status != PGRES_POLLING_OK {
            if status == PGRES_POLLING_FAILED {
                let error = connectError(handle, target: target)
                PQfinish(handle)
                throw error
            }
            // The socket can change between polls (next host of a list, SSL retry), so ask each time.
            let events = status == PGRES_POLLING_READING ? POLLIN : POLLOUT
            switch SocketWait.wait(PQsocket(handle), for: events, until: end) {
            case .ready:
                status = PQconnectPoll(handle)
            case .timedOut:
                PQfinish(handle)
                throw .connectTimedOut(target: target, after: deadline)
            case .failed(let reason):
                PQfinish(handle)
                throw .connectFailed(target: target, message: "Waiting for the server failed: \(reason).")
            }
        }
        guard let cancelToken = CancelToken(connection: handle) else {
            PQfinish(handle)
            throw .connectFailed(target: target, message: "libpq could not prepare a cancel request.")
        }
        // Non-blocking sends keep the query deadline honest when the socket buffer is full.
        PQsetnonblocking(handle, 1)
        return PostgresConnection(handle: handle, cancelToken: cancelToken, target: target, secrets: secrets)
    }

    /// The error for a failed connection attempt, telling a rejected login from an unreachable server.
    private static func connectError(_ handle: OpaquePointer, target: String) -> PostgresError {
        let message = LibPQ.trimmed(String(cString: PQerrorMessage(handle)))
        // Connection errors carry no SQLSTATE in libpq 15, so the server's (English) wording is matched.
        let authenticationMarkers = ["authentication failed", "no password supplied", "no pg_hba.conf entry"]
        let isAuthentication =
            authenticationMarkers.contains { message.contains($0) }
            || (message.contains("role \"") && message.contains("\" does not exist"))
        return isAuthentication
            ? .authenticationFailed(target: target, message: message)
            : .connectFailed(target: target, message: message)
    }

    // MARK: - State

    /// Whether the connection can no longer be used: closed, marked broken after a failure, or dropped by libpq.
    public var isBroken: Bool {
        guard let handle else { return true }
        return PQstatus(handle) == CONNECTION_BAD
    }

    /// Whether `close()` was called.
    public var isClosed: Bool { handle == nil && brokenReason == nil }

    /// The transaction state as the server last reported it.
    public var transactionStatus: TransactionStatus {
        guard let handle else { return .unknown }
        switch PQtransactionStatus(handle) {
        case PQTRANS_IDLE: return .idle
        case PQTRANS_ACTIVE: return .active
        case PQTRANS_INTRANS: return .inTransaction
        case PQTRANS_INERROR: return .inError
        default: return .unknown
        }
    }

    /// Asks the server to cancel the query this connection is running. Callable from any thread.
    ///
    /// The running `execute` then throws `.server` with SQLSTATE 57014 (query_canceled); a request that reaches
    /// the server while the connection is idle is ignored. Blocks until the server has taken the request, so that
    /// it cannot hit a later query, or until `timeout` passes (a stopped server never answers; the request is then
    /// left running in the background and may still cancel whatever runs when the server resumes).
    /// - Returns: true when the server took the request within `timeout`.
    @discardableResult
    public func cancel(timeout: Duration = .seconds(1)) -> Bool {
        cancelToken.sendInBackground().wait(until: .now + timeout)
    }

    /// Closes the connection (sends Terminate, frees libpq's state). Idempotent.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
        brokenReason = nil
    }

    /// Closes the socket after a failure the connection cannot recover from; later calls throw `.connectionLost`.
    func markBroken(_ reason: String) {
        if let handle { PQfinish(handle) }
        handle = nil
        brokenReason = reason
    }

    /// The libpq connection, or the error explaining why there is none.
    func liveHandle() throws(PostgresError) -> OpaquePointer {
        if let handle { return handle }
        if let brokenReason { throw .connectionLost(message: brokenReason) }
        throw .connectionClosed
    }
}

/// The `ParameterStatus` values compared with their values at connect to tell whether a session changed.
enum SessionParameters {
    /// Settable parameters the server reports when they change (`GUC_REPORT`); `in_hot_standby` and the
    /// read-only ones (`server_version`, `server_encoding`, `integer_datetimes`) are left out on purpose.
    /// `search_path` is reported from PostgreSQL 18 on, `scram_iterations` from 16 on; older servers skip them.
    static let tracked: [StaticString] = [
        "session_authorization", "is_superuser", "TimeZone", "application_name", "default_transaction_read_only",
        "DateStyle", "IntervalStyle", "client_encoding", "standard_conforming_strings", "search_path",
        "scram_iterations",
    ]

    /// The value libpq last received for `name`, nil when the server never reported it.
    @inline(__always)
    static func value(_ handle: OpaquePointer, _ name: StaticString) -> UnsafePointer<CChar>? {
        PQparameterStatus(handle, UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self))
    }
}

/// The transaction state of a connection (`PQtransactionStatus`).
public enum TransactionStatus: Sendable, Hashable {
    /// No transaction open; the connection can be handed to someone else.
    case idle
    /// A query is running.
    case active
    /// Inside a transaction block (after `BEGIN`).
    case inTransaction
    /// Inside a failed transaction block: only `ROLLBACK` will be accepted.
    case inError
    /// The connection is closed or broken.
    case unknown
}

/// NUL-terminated copies of strings in one buffer, with a pointer array for libpq (nil entries stay nil).
struct CStringArray {
    private var bytes: [CChar] = []
    private var offsets: [Int?] = []

    init(_ strings: [String?]) {
        for string in strings {
            guard let string else {
                offsets.append(nil)
                continue
            }
            offsets.append(bytes.count)
            bytes.append(contentsOf: string.utf8.map { CChar(bitPattern: $0) })
            bytes.append(0)
        }
    }

    /// Calls `body` with the array of pointers, valid only during the call.
    func withPointers<R>(_ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        bytes.withUnsafeBufferPointer { buffer in
            let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in offset.map { buffer.baseAddress! + $0 } }
            return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
        }
    }
}
