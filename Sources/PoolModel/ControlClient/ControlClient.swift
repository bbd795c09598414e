#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A client for a service's control endpoint (docs/CONTROL-PROTOCOL.md): one short-lived Unix-socket
/// connection per request, a deadline on the whole exchange, a cap on the response size.
///
/// Used by `pooltop attach` / `ls` / `ctl` / `status --socket`; holds no pool and no libpq connection.
/// Blocking: call it off the UI thread.
public struct ControlClient: Sendable {
    /// The control protocol version this client speaks.
    public static let protocolVersion = 1

    /// The socket's path, as given.
    public var socketPath: String
    /// Deadline for connect + request + response.
    public var timeout: Duration
    /// The largest response body read (a snapshot with full histories is well below 1 MiB).
    public var bodyLimit: Int

    public init(socketPath: String, timeout: Duration = .seconds(2), bodyLimit: Int = 8 * 1024 * 1024) {
        self.socketPath = socketPath
        self.timeout = timeout
        self.bodyLimit = bodyLimit
    }

    // MARK: - Routes

    /// `GET /v1/info`: who the service is. A 404 here means another protocol version.
    public func info() throws(ControlClientError) -> Info {
        let response = try request("GET", "/v1/info")
        if response.status == 404 { throw .protocolVersion(socketPath, theirs: nil) }
        try expectOK(response, route: "GET /v1/info")
        let info = try decode(Info.self, response, route: "GET /v1/info")
        guard info.protocolVersion == Self.protocolVersion else {
            throw .protocolVersion(socketPath, theirs: info.protocolVersion)
        }
        return info
    }

    /// `GET /v1/snapshot[?events_after=N][&health_after=H]`: the pool's state; `snapshot.events` holds only
    /// events newer than `eventsAfter` when it is given, `snapshot.healthHistory` only the checks after
    /// `healthAfter` when the reply's ``SnapshotReply/healthHistoryAfter`` says so.
    public func snapshot(eventsAfter: Int? = nil, healthAfter: Int? = nil) throws(ControlClientError)
        -> SnapshotReply
    {
        let query = [eventsAfter.map { "events_after=\($0)" }, healthAfter.map { "health_after=\($0)" }]
            .compactMap { $0 }.joined(separator: "&")
        let route = "/v1/snapshot" + (query.isEmpty ? "" : "?" + query)
        let response = try request("GET", route)
        try expectOK(response, route: "GET \(route)")
        let envelope = try decode(SnapshotEnvelope.self, response, route: "GET \(route)")
        guard envelope.protocolVersion == Self.protocolVersion else {
            throw .protocolVersion(socketPath, theirs: envelope.protocolVersion)
        }
        // Event sequences are read apart from PoolEvent, so services that do not send them still work.
        return SnapshotReply(
            snapshot: envelope.snapshot, eventsCursor: envelope.eventsCursor, eventSequences: envelope.eventSequences,
            healthCursor: envelope.healthCursor, healthCount: envelope.healthCount,
            healthHistoryAfter: envelope.healthHistoryAfter)
    }

    /// `GET /v1/status`: the status JSON exactly as the service wrote it, and whether it said healthy (200) or
    /// not (503).
    public func status() throws(ControlClientError) -> StatusReply {
        let response = try request("GET", "/v1/status")
        guard response.status == 200 || response.status == 503 else {
            try expectOK(response, route: "GET /v1/status")
            throw .unexpectedStatus(socketPath, route: "GET /v1/status", status: response.status, message: "")
        }
        let status = try decode(HealthStatus.self, response, route: "GET /v1/status")
        return StatusReply(isHealthy: response.status == 200, status: status, json: response.body)
    }

    /// `GET /v1/leaks/{id}/stack`: the checkout stack, symbolicated in the service; `nil` when the service
    /// knows no such connection (404).
    public func stack(connectionID: Int) throws(ControlClientError) -> [StackFrame]? {
        let route = "/v1/leaks/\(connectionID)/stack"
        let response = try request("GET", route)
        if response.status == 404, response.header("x-pooltop-protocol") != nil { return nil }
        try expectOK(response, route: "GET \(route)")
        return try decode(StackReply.self, response, route: "GET \(route)").frames
    }

    /// `POST /v1/commands`: runs a command in the service. Refusals (409, 403) and bad commands (400) are
    /// replies, not errors: the reply carries the service's sentence.
    public func perform(_ command: MonitorCommand) throws(ControlClientError) -> CommandReply {
        let body = try encodeBody(CommandBody(command))
        let response = try request("POST", "/v1/commands", body: body)
        switch response.status {
        case 200, 400, 403, 409:
            let answer = try? ControlJSON.decoder().decode(CommandAnswer.self, from: Data(response.body))
            let message =
                answer?.message ?? answer?.error ?? "the service answered \(response.status) \(response.reason)."
            return CommandReply(
                status: response.status, succeeded: response.status == 200 && (answer?.succeeded ?? true),
                message: message)
        default:
            try expectOK(response, route: "POST /v1/commands")
            throw .unexpectedStatus(socketPath, route: "POST /v1/commands", status: response.status, message: "")
        }
    }

    // MARK: - Plumbing

    /// Sends one request; checks the protocol header every response carries.
    public func request(_ method: String, _ target: String, body: [UInt8] = []) throws(ControlClientError)
        -> ControlHTTPResponse
    {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nUser-Agent: pooltop\r\n"
        head += "Accept: application/json\r\nConnection: close\r\n"
        if !body.isEmpty || method == "POST" {
            head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        let transport = UnixSocketTransport(timeout: timeout, bodyLimit: bodyLimit)
        let response = try transport.exchange(path: socketPath, request: Array(head.utf8) + body)
        if let text = response.header("x-pooltop-protocol") {
            guard let version = Int(text) else {
                throw .malformedResponse(
                    "X-Pooltop-Protocol is \"\(ControlHTTPResponse.printable(text))\", expected a number")
            }
            guard version == Self.protocolVersion else { throw .protocolVersion(socketPath, theirs: version) }
        }
        return response
    }

    private func expectOK(_ response: ControlHTTPResponse, route: String) throws(ControlClientError) {
        guard response.status != 200 else { return }
        let error = try? ControlJSON.decoder().decode(ErrorBody.self, from: Data(response.body))
        if let theirs = error?.protocolVersion, theirs != Self.protocolVersion {
            throw .protocolVersion(socketPath, theirs: theirs)
        }
        let message = error?.error ?? "\(response.reason.isEmpty ? "an error" : response.reason)."
        throw .unexpectedStatus(socketPath, route: route, status: response.status, message: message)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ response: ControlHTTPResponse, route: String)
        throws(ControlClientError) -> T
    {
        do {
            return try ControlJSON.decoder().decode(type, from: Data(response.body))
        } catch {
            throw .undecodable(socketPath, route: route, reason: Self.describe(error))
        }
    }

    private func encodeBody<T: Encodable>(_ value: T) throws(ControlClientError) -> [UInt8] {
        do {
            return Array(try ControlJSON.encoder().encode(value))
        } catch {
            throw .transport(socketPath, reason: "cannot encode the request: \(error)")
        }
    }

    /// A decoding error as a short phrase naming the key path.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "the document" : keys.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing key \(key.stringValue) in \(path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context)): \(context.debugDescription)"
        case .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
