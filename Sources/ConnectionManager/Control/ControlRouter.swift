import Foundation

/// Maps a parsed request and the peer's access to what the endpoint does (pure: no I/O, no manager).
///
/// The routes of protocol version 1 (docs/CONTROL-PROTOCOL.md). GET never changes anything; a known path with
/// another method is 405 with `Allow`; commands need ``PeerAccess/readAndAct`` (403 otherwise).
public enum ControlRouter {
    /// What serving a request takes.
    public enum Action: Sendable, Equatable {
        /// `GET /v1/info`.
        case info
        /// `GET /v1/snapshot[?events_after=N][&health_after=H]`.
        case snapshot(eventsAfter: Int?, healthAfter: Int? = nil)
        /// `GET /v1/status`.
        case status
        /// `GET /v1/leaks/{id}/stack`.
        case stack(connectionID: Int)
        /// `POST /v1/commands` from a peer that may act (may block: probes, `pg_terminate_backend`).
        case perform(MonitorCommand)
        /// Answered without the manager (errors).
        case respond(HTTPResponse)

        /// Whether serving it may block on the network (it runs on the command queue, away from polls).
        public var mayBlock: Bool {
            switch self {
            case .perform: return true
            default: return false
            }
        }
    }

    /// The action for `request` from a peer with `access` (never `.refused`: those are closed before parsing).
    public static func route(_ request: HTTPRequest, access: PeerAccess) -> Action {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let get = ["Allow": "GET"]
        let post = ["Allow": "POST"]
        switch Array(segments) {
        case ["v1", "info"]:
            return request.method == "GET" ? .info : methodNotAllowed(request, get)
        case ["v1", "status"]:
            return request.method == "GET" ? .status : methodNotAllowed(request, get)
        case ["v1", "snapshot"]:
            guard request.method == "GET" else { return methodNotAllowed(request, get) }
            switch (cursor("events_after", in: request.query), cursor("health_after", in: request.query)) {
            case (.success(let events), .success(let health)):
                return .snapshot(eventsAfter: events, healthAfter: health)
            case (.failure(let problem), _), (_, .failure(let problem)):
                return .respond(.error(.badRequest, problem.message))
            }
        case let s where s.count == 4 && s[0] == "v1" && s[1] == "leaks" && s[3] == "stack":
            guard let id = Int(s[2]), id >= 0, s[2].allSatisfy(\.isASCII) else {
                return .respond(.error(.notFound, "No such route: \(shown(request.path)) (the id must be a number)."))
            }
            return request.method == "GET" ? .stack(connectionID: id) : methodNotAllowed(request, get)
        case ["v1", "commands"]:
            guard request.method == "POST" else { return methodNotAllowed(request, post) }
            guard access.mayAct else {
                return .respond(
                    command(
                        .forbidden,
                        "This peer may only read: members of the control group act only with DB_CONTROL_GROUP_CAN_ACT=true."
                    ))
            }
            switch command(from: request.body) {
            case .success(let command): return .perform(command)
            case .failure(let problem): return .respond(.error(.badRequest, problem.message))
            }
        default:
            return .respond(
                .error(
                    .notFound,
                    "No such route: \(shown(request.path)). Routes: GET /v1/info, /v1/snapshot, /v1/status, "
                        + "/v1/leaks/{id}/stack; POST /v1/commands."))
        }
    }

    /// A sentence saying what was wrong with a request.
    public struct Problem: Error, Equatable {
        public var message: String
    }

    /// The cursor `key=N` (N ≥ 0, at most 18 digits) in a query (the last one when repeated); other keys are
    /// ignored (readers ignore what they do not know).
    static func cursor(_ key: String, in query: String) -> Result<Int?, Problem> {
        var after: Int?
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts[0] == key else { continue }
            guard parts.count == 2, parts[1].count <= 18, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
                let n = Int(parts[1])
            else {
                return .failure(Problem(message: "\(key) must be a whole number of at least 0."))
            }
            after = n
        }
        return .success(after)
    }

    /// The command in a `POST /v1/commands` body.
    static func command(from body: [UInt8]) -> Result<MonitorCommand, Problem> {
        let request: ControlCommandRequest
        do {
            request = try JSONDecoder().decode(ControlCommandRequest.self, from: Data(body))
        } catch {
            return .failure(
                Problem(
                    message:
                        #"The body must be JSON like {"command":"suspend"} (suspend, resume, evict, failover, terminate, cancel_backend, terminate_backend)."#
                ))
        }
        switch request.command {
        case "suspend": return .success(.suspend)
        case "resume": return .success(.resume)
        case "evict": return .success(.evictIdle)
        case "failover":
            if let target = request.target, target < 0 {
                return .failure(Problem(message: "target must be a target index of at least 0."))
            }
            return .success(.failover(toTarget: request.target))
        case "terminate":
            guard let id = request.connectionID, id >= 0 else {
                return .failure(Problem(message: "terminate needs connection_id, the leaked connection's id."))
            }
            return .success(.terminateLeak(connectionID: id))
        case "cancel_backend", "terminate_backend":
            guard let pid = request.pid, pid > 0 else {
                return .failure(Problem(message: "\(request.command) needs pid, the server session's process id."))
            }
            return .success(
                request.command == "cancel_backend" ? .cancelBackend(pid: pid) : .terminateBackend(pid: pid))
        default:
            return .failure(
                Problem(
                    message:
                        "Unknown command '\(shown(request.command))'; known: suspend, resume, evict, failover, terminate, cancel_backend, terminate_backend."
                ))
        }
    }

    private static func methodNotAllowed(_ request: HTTPRequest, _ allow: [String: String]) -> Action {
        .respond(
            .error(
                .methodNotAllowed,
                "\(shown(request.method)) is not allowed on \(request.path); use \(allow["Allow"] ?? "GET").",
                headers: allow))
    }

    /// A command outcome response (also used for 403).
    static func command(_ status: HTTPStatus, _ message: String) -> HTTPResponse {
        HTTPResponse(
            status: status,
            body: ControlProtocol.encode(ControlCommandResponse(succeeded: status == .ok, message: message)))
    }

    /// Echoes of client input in messages are cut (a path may be 8 KiB long).
    static func shown(_ text: some StringProtocol) -> String {
        text.count <= 64 ? String(text) : String(text.prefix(64)) + "…"
    }

    // MARK: Responses built from the manager's values (pure)

    /// `GET /v1/info`.
    public static func infoResponse(_ info: ControlInfo) -> HTTPResponse {
        HTTPResponse(status: .ok, body: ControlProtocol.encode(info))
    }

    /// `GET /v1/snapshot`: only events newer than `eventsAfter`; the cursor is the newest retained event's.
    ///
    /// `healthSequences` numbers `snapshot.healthHistory` (parallel, increasing). With `healthAfter` = the
    /// sequence of a check still in the history, `health_history` holds only the checks after it and
    /// `health_history_after` says so; any other value (older than the window, of another target's history, of
    /// another process, ahead) gets the whole history, as without the parameter: the reader starts over.
    public static func snapshotResponse(
        _ snapshot: ManagerSnapshot, eventsAfter: Int?, healthAfter: Int? = nil, healthSequences: [Int] = []
    ) -> HTTPResponse {
        var filtered = snapshot
        let cursor = snapshot.events.last?.sequence ?? 0
        if let eventsAfter { filtered.events = snapshot.events.filter { $0.sequence > eventsAfter } }
        // Sequences that do not match the history (a service without them) give no health cursor at all.
        let numbered = healthSequences.count == snapshot.healthHistory.count && !healthSequences.isEmpty
        var response = ControlSnapshotResponse(snapshot: filtered, eventsCursor: cursor)
        if numbered || snapshot.healthHistory.isEmpty {
            response.healthCursor = healthSequences.last ?? 0
            response.healthCount = snapshot.healthHistory.count
        }
        if numbered, let healthAfter, let index = healthSequences.lastIndex(of: healthAfter) {
            filtered.healthHistory = Array(snapshot.healthHistory[(index + 1)...])
            response.snapshot = filtered
            response.healthHistoryAfter = healthAfter
        }
        return HTTPResponse(status: .ok, body: ControlProtocol.encode(response))
    }

    /// `GET /v1/status`: 200 healthy, 503 not.
    public static func statusResponse(_ status: HealthStatus) -> HTTPResponse {
        let body = (try? status.jsonData()) ?? ControlProtocol.encode(status)
        return HTTPResponse(status: status.healthy ? .ok : .unavailable, body: body)
    }

    /// `GET /v1/leaks/{id}/stack`: `frames` is nil when the connection is neither checked out nor a recent leak.
    public static func stackResponse(connectionID: Int, frames: [StackFrame]?) -> HTTPResponse {
        guard let frames else {
            return .error(
                .notFound, "Connection \(connectionID) is neither checked out nor a recent leak; no stack to show.")
        }
        return HTTPResponse(
            status: .ok, body: ControlProtocol.encode(ControlStackResponse(connectionID: connectionID, frames: frames)))
    }

    /// `POST /v1/commands`: 200 done, 409 refused by the manager.
    public static func outcomeResponse(_ outcome: MonitorCommandOutcome) -> HTTPResponse {
        command(outcome.succeeded ? .ok : .conflict, outcome.message)
    }
}
