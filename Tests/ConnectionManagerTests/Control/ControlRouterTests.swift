import Foundation
import Testing

@testable import ConnectionManager

/// Routing and the responses built from the manager's values, without a socket or a manager.
@Suite("ControlRouter")
struct ControlRouterTests {
    static func get(_ target: String) -> HTTPRequest {
        let parts = target.split(separator: "?", maxSplits: 1)
        return HTTPRequest(method: "GET", path: String(parts[0]), query: parts.count > 1 ? String(parts[1]) : "")
    }

    static func post(_ path: String, _ body: String) -> HTTPRequest {
        HTTPRequest(method: "POST", path: path, body: Array(body.utf8))
    }

    static func status(_ action: ControlRouter.Action) -> Int? {
        if case .respond(let response) = action { return response.status.code }
        return nil
    }

    @Test func readRoutes() {
        #expect(ControlRouter.route(Self.get("/v1/info"), access: .read) == .info)
        #expect(ControlRouter.route(Self.get("/v1/status"), access: .read) == .status)
        #expect(ControlRouter.route(Self.get("/v1/snapshot"), access: .read) == .snapshot(eventsAfter: nil))
        #expect(
            ControlRouter.route(Self.get("/v1/snapshot?events_after=42"), access: .read) == .snapshot(eventsAfter: 42))
        #expect(
            ControlRouter.route(Self.get("/v1/snapshot?x=1&events_after=0"), access: .read) == .snapshot(eventsAfter: 0)
        )
        #expect(ControlRouter.route(Self.get("/v1/leaks/17/stack"), access: .read) == .stack(connectionID: 17))
        #expect(
            ControlRouter.route(Self.get("/v1/snapshot?health_after=300"), access: .read)
                == .snapshot(eventsAfter: nil, healthAfter: 300))
        #expect(
            ControlRouter.route(Self.get("/v1/snapshot?events_after=4&health_after=0"), access: .read)
                == .snapshot(eventsAfter: 4, healthAfter: 0))
    }

    @Test func aMalformedHealthCursorIs400WithASentence() throws {
        for query in [
            "health_after=-1", "health_after=abc", "health_after", "health_after=", "health_after=1e3",
            "events_after=1&health_after=x", "health_after=1234567890123456789",
        ] {
            guard case .respond(let response) = ControlRouter.route(Self.get("/v1/snapshot?" + query), access: .read)
            else {
                Issue.record("\(query) was accepted")
                continue
            }
            #expect(response.status == .badRequest, "\(query)")
            let body = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
            #expect(body?["error"] as? String == "health_after must be a whole number of at least 0.", "\(query)")
            #expect(body?["protocol_version"] as? Int == 1)
        }
    }

    /// A snapshot whose health history holds the checks numbered `sequences` (response times = the numbers).
    static func numbered(_ sequences: [Int]) -> (ManagerSnapshot, [Int]) {
        var snapshot = ManagerSnapshotJSONTests.sample()
        snapshot.healthHistory = sequences.map {
            HealthCheckResult(
                healthy: true, responseTime: Double($0),
                checkedAt: Date(timeIntervalSince1970: 1_700_000_000 + Double($0)),
                target: "t")
        }
        return (snapshot, sequences)
    }

    static func health(_ response: HTTPResponse) throws -> ControlSnapshotResponse {
        try ControlJSON.decoder().decode(ControlSnapshotResponse.self, from: response.body)
    }

    @Test func theHealthCursorSendsOnlyNewerChecks() throws {
        let (snapshot, sequences) = Self.numbered([11, 12, 14, 15, 17])
        let delta = try Self.health(
            ControlRouter.snapshotResponse(
                snapshot, eventsAfter: nil, healthAfter: 14, healthSequences: sequences))
        #expect(delta.snapshot.healthHistory.map(\.responseTime) == [15, 17])
        #expect(delta.healthHistoryAfter == 14 && delta.healthCursor == 17 && delta.healthCount == 5)
        let none = try Self.health(
            ControlRouter.snapshotResponse(snapshot, eventsAfter: nil, healthAfter: 17, healthSequences: sequences))
        #expect(none.snapshot.healthHistory.isEmpty && none.healthHistoryAfter == 17 && none.healthCursor == 17)
        // The rest of the snapshot is the same either way.
        var rest = delta.snapshot
        rest.healthHistory = snapshot.healthHistory
        #expect(rest.healthStats == snapshot.healthStats && rest.lastHealthCheck == snapshot.lastHealthCheck)
    }

    @Test func aCursorNotInTheHistoryGetsItWhole() throws {
        let (snapshot, sequences) = Self.numbered([11, 12, 14, 15, 17])
        // Trimmed beyond the cursor (10), a gap in it (13: another target's check), another process's (99).
        for after in [0, 10, 13, 99] {
            let whole = try Self.health(
                ControlRouter.snapshotResponse(
                    snapshot, eventsAfter: nil, healthAfter: after, healthSequences: sequences))
            #expect(whole.snapshot.healthHistory == snapshot.healthHistory, "health_after=\(after)")
            #expect(whole.healthHistoryAfter == nil && whole.healthCursor == 17 && whole.healthCount == 5)
        }
    }

    @Test func withoutTheParameterTheSnapshotIsAsBefore() throws {
        let (snapshot, sequences) = Self.numbered([1, 2, 3])
        let response = ControlRouter.snapshotResponse(snapshot, eventsAfter: nil, healthSequences: sequences)
        let body = try #require(
            try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        let inner = try #require(body["snapshot"] as? [String: Any])
        #expect(
            try JSONSerialization.data(withJSONObject: inner, options: .sortedKeys)
                == JSONSerialization.data(
                    withJSONObject: try JSONSerialization.jsonObject(with: ControlJSON.encoder().encode(snapshot)),
                    options: .sortedKeys))
        #expect(body["health_cursor"] as? Int == 3 && body["health_count"] as? Int == 3)
        #expect(body["health_history_after"] == nil)
        // Sequences that do not match the history (none given): no health cursor, the history whole.
        let unnumbered = try Self.health(
            ControlRouter.snapshotResponse(snapshot, eventsAfter: nil, healthAfter: 2, healthSequences: []))
        #expect(unnumbered.healthCursor == nil && unnumbered.healthHistoryAfter == nil)
        #expect(unnumbered.snapshot.healthHistory.count == 3)
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        let request: HTTPRequest
        let access: PeerAccess
        let status: Int
        var testDescription: String { "\(request.method) \(request.path)?\(request.query) → \(status)" }
    }

    static let refusals: [Refusal] = [
        .init(request: get("/"), access: .readAndAct, status: 404),
        .init(request: get("/v2/info"), access: .readAndAct, status: 404),
        .init(request: get("/v1/info/"), access: .readAndAct, status: 404),
        .init(request: get("/v1/leaks/x/stack"), access: .readAndAct, status: 404),
        .init(request: get("/v1/leaks/-1/stack"), access: .readAndAct, status: 404),
        .init(request: get("/v1/snapshot?events_after=-1"), access: .readAndAct, status: 400),
        .init(request: get("/v1/snapshot?events_after=abc"), access: .readAndAct, status: 400),
        .init(request: get("/v1/snapshot?events_after"), access: .readAndAct, status: 400),
        .init(request: post("/v1/info", ""), access: .readAndAct, status: 405),
        .init(request: HTTPRequest(method: "DELETE", path: "/v1/snapshot"), access: .readAndAct, status: 405),
        .init(request: HTTPRequest(method: "HEAD", path: "/v1/status"), access: .readAndAct, status: 405),
        .init(request: HTTPRequest(method: "get", path: "/v1/info"), access: .readAndAct, status: 405),
        .init(request: get("/v1/commands"), access: .readAndAct, status: 405),
        .init(request: post("/v1/commands", #"{"command":"suspend"}"#), access: .read, status: 403),
        .init(request: post("/v1/commands", "not json"), access: .readAndAct, status: 400),
        .init(request: post("/v1/commands", ""), access: .readAndAct, status: 400),
        .init(request: post("/v1/commands", #"{"command":"drop_database"}"#), access: .readAndAct, status: 400),
        .init(request: post("/v1/commands", #"{"command":"terminate"}"#), access: .readAndAct, status: 400),
        .init(request: post("/v1/commands", #"{"command":"failover","target":-2}"#), access: .readAndAct, status: 400),
        .init(request: post("/v1/commands", #"{"command":1}"#), access: .readAndAct, status: 400),
    ]

    @Test(arguments: refusals)
    func refused(_ input: Refusal) {
        #expect(Self.status(ControlRouter.route(input.request, access: input.access)) == input.status)
    }

    @Test func wrongMethodSaysWhichIsAllowed() {
        guard case .respond(let response) = ControlRouter.route(Self.post("/v1/snapshot", ""), access: .readAndAct)
        else {
            Issue.record("not a response")
            return
        }
        #expect(response.headers["Allow"] == "GET")
        guard case .respond(let post) = ControlRouter.route(Self.get("/v1/commands"), access: .readAndAct) else {
            Issue.record("not a response")
            return
        }
        #expect(post.headers["Allow"] == "POST")
        let text = String(decoding: post.bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
        #expect(text.contains("\r\nAllow: POST\r\n"))
        #expect(text.contains(#""protocol_version":1"#))
    }

    @Test func commands() {
        let cases: [(String, MonitorCommand)] = [
            (#"{"command":"suspend"}"#, .suspend),
            (#"{"command":"resume"}"#, .resume),
            (#"{"command":"evict"}"#, .evictIdle),
            (#"{"command":"failover"}"#, .failover(toTarget: nil)),
            (#"{"command":"failover","target":1}"#, .failover(toTarget: 1)),
            (#"{"command":"terminate","connection_id":7,"extra":true}"#, .terminateLeak(connectionID: 7)),
        ]
        for (body, command) in cases {
            #expect(ControlRouter.route(Self.post("/v1/commands", body), access: .readAndAct) == .perform(command))
            // What pooltop ctl sends is what the router reads.
            let sent = try? ControlJSON.encoder().encode(ControlCommandRequest(command))
            #expect(ControlRouter.command(from: Array(sent ?? Data())) == .success(command))
        }
    }

    @Test func eachResponseIsWellFormed() throws {
        let snapshot = ManagerSnapshotJSONTests.sample()
        var events = snapshot
        events.events = (1...5).map { PoolEvent(at: Date(), kind: .info, message: "e\($0)", sequence: $0) }
        let response = ControlRouter.snapshotResponse(events, eventsAfter: 3)
        let decoded = try ControlJSON.decoder().decode(ControlSnapshotResponse.self, from: response.body)
        #expect(decoded.snapshot.events.map(\.sequence) == [4, 5])
        #expect(decoded.eventsCursor == 5)
        #expect(decoded.protocolVersion == 1)
        let all = try ControlJSON.decoder().decode(
            ControlSnapshotResponse.self, from: ControlRouter.snapshotResponse(events, eventsAfter: nil).body)
        #expect(all.snapshot.events.count == 5)
        let none = try ControlJSON.decoder().decode(
            ControlSnapshotResponse.self, from: ControlRouter.snapshotResponse(events, eventsAfter: 9).body)
        #expect(none.snapshot.events.isEmpty && none.eventsCursor == 5)

        #expect(ControlRouter.outcomeResponse(.init(succeeded: true, message: "ok")).status == .ok)
        #expect(ControlRouter.outcomeResponse(.init(succeeded: false, message: "no")).status == .conflict)
        #expect(ControlRouter.stackResponse(connectionID: 3, frames: nil).status == .notFound)
        #expect(ControlRouter.stackResponse(connectionID: 3, frames: []).status == .ok)

        let bytes = String(
            decoding: ControlRouter.outcomeResponse(.init(succeeded: true, message: "ok")).bytes, as: UTF8.self)
        let head = bytes.components(separatedBy: "\r\n\r\n")[0]
        #expect(
            head.components(separatedBy: "\r\n") == [
                "HTTP/1.1 200 OK", "Content-Type: application/json",
                "Content-Length: \(bytes.utf8.count - head.utf8.count - 4)",
                "Connection: close", "X-Pooltop-Protocol: 1",
            ])
    }
}
