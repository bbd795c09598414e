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
