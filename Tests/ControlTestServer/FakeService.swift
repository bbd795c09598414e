import ConnectionManager
import Foundation
import Synchronization

/// Plays a service's control endpoint over a ``ControlTestServer``: `/v1/info`, `/v1/snapshot` with event
/// sequences and the cursor, `/v1/status`, `/v1/leaks/{id}/stack`, `/v1/commands` — from a snapshot the test
/// sets and changes. Commands are recorded and answered as the test says.
public final class FakeService: Sendable {
    public struct State: Sendable {
        public var poolName: String
        public var pid: Int32
        public var program: String
        public var access = "act"
        public var snapshot: ManagerSnapshot
        /// Sequence of `snapshot.events[i]` is `firstSequence + i`.
        public var firstSequence = 1
        /// Whether events carry `sequence` and the reply `events_cursor` (an older service has neither).
        public var sendsSequences = true
        public var stacks: [Int: [StackFrame]] = [:]
        /// Status and message of the next commands (200 done by default).
        public var commandAnswer: (status: Int, succeeded: Bool, message: String) = (200, true, "Done.")
        public var commands: [String] = []
        public var protocolVersion = 1
        /// Set: the service numbers `snapshot.healthHistory` with these sequences and answers `health_after`
        /// (through the real ``ControlRouter``); `nil`: an older service, which sends the whole history.
        public var healthSequences: [Int]?
    }

    /// What the fake service knows and answers with.
    public final class Shared: Sendable {
        public let state: Mutex<State>
        init(_ state: State) { self.state = Mutex(state) }
    }

    public let shared: Shared
    public let server: ControlTestServer

    public init(path: String, poolName: String = "orders-api", pid: Int32 = 4242, snapshot: ManagerSnapshot) throws {
        let shared = Shared(State(poolName: poolName, pid: pid, program: poolName, snapshot: snapshot))
        self.shared = shared
        server = try ControlTestServer(path: path) { request in
            Self.answer(request, shared: shared, path: path)
        }
    }

    public var path: String { server.path }

    /// Changes what the service answers from now on.
    public func update(_ change: (inout State) -> Void) { shared.state.withLock { change(&$0) } }

    public var commands: [String] { shared.state.withLock { $0.commands } }

    static func answer(_ request: ControlTestServer.Request, shared: Shared, path: String) -> [UInt8] {
        let s = shared.state.withLock { $0 }
        let route = request.target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        let query = request.target.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init)
        if s.protocolVersion != 1 {
            return ControlTestServer.response(
                404, #"{"error":"no such route","protocol_version":\#(s.protocolVersion)}"#,
                protocolHeader: s.protocolVersion)
        }
        switch (request.method, route) {
        case ("GET", "/v1/info"):
            let info: [String: Any] = [
                "protocol_version": 1, "schema_version": 1, "pool_name": s.poolName, "pid": Int(s.pid),
                "program": s.program, "started_at": ControlJSON.format(s.snapshot.startedAt),
                "target": s.snapshot.failover.currentURL, "socket": path, "library": "pooltop test",
                "access": s.access,
            ]
            return ControlTestServer.response(200, json(info))
        case ("GET", "/v1/snapshot"):
            var parameters: [String: String] = [:]
            for pair in (query ?? "").split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { parameters[String(parts[0])] = String(parts[1]) }
            }
            let after = parameters["events_after"].flatMap { Int($0) }
            if let sequences = s.healthSequences {
                var numbered = s.snapshot
                for i in numbered.events.indices { numbered.events[i].sequence = s.firstSequence + i }
                let response = ControlRouter.snapshotResponse(
                    numbered, eventsAfter: after, healthAfter: parameters["health_after"].flatMap { Int($0) },
                    healthSequences: sequences)
                return ControlTestServer.response(200, String(decoding: response.body, as: UTF8.self))
            }
            var object =
                (try? JSONSerialization.jsonObject(
                    with: ControlJSON.encoder().encode(s.snapshot))) as? [String: Any] ?? [:]
            var events = (object["events"] as? [[String: Any]]) ?? []
            if !s.sendsSequences {
                for i in events.indices { events[i].removeValue(forKey: "sequence") }
            } else {
                for i in events.indices { events[i]["sequence"] = s.firstSequence + i }
                if let after { events = events.filter { ($0["sequence"] as! Int) > after } }
            }
            object["events"] = events
            var reply: [String: Any] = ["protocol_version": 1, "snapshot": object]
            if s.sendsSequences { reply["events_cursor"] = s.firstSequence + s.snapshot.events.count - 1 }
            return ControlTestServer.response(200, json(reply))
        case ("GET", "/v1/status"):
            let healthy = s.snapshot.lastHealthCheck?.healthy ?? false
            let status: [String: Any] = [
                "healthy": healthy,
                "pool_metrics":
                    (try? JSONSerialization.jsonObject(with: ControlJSON.encoder().encode(s.snapshot.metrics))) ?? [:],
                "health_check": NSNull(),
                "health_stats":
                    (try? JSONSerialization.jsonObject(with: ControlJSON.encoder().encode(s.snapshot.healthStats)))
                    ?? [:],
                "failover_stats":
                    (try? JSONSerialization.jsonObject(with: ControlJSON.encoder().encode(s.snapshot.failover))) ?? [:],
                "leak_detection": [
                    "enabled": true, "threshold": s.snapshot.leakThreshold,
                    "active_connections": s.snapshot.activeConnections,
                    "total_leaked": s.snapshot.totalLeaked, "leaks": [],
                ] as [String: Any],
            ]
            return ControlTestServer.response(healthy ? 200 : 503, json(status))
        case ("GET", _) where route.hasPrefix("/v1/leaks/") && route.hasSuffix("/stack"):
            let id = Int(route.dropFirst(10).dropLast(6)) ?? -1
            guard let frames = s.stacks[id] else {
                return ControlTestServer.response(404, #"{"error":"No connection #\#(id).","protocol_version":1}"#)
            }
            let data = (try? ControlJSON.encoder().encode(frames)) ?? Data("[]".utf8)
            return ControlTestServer.response(
                200, #"{"connection_id":\#(id),"frames":"# + String(decoding: data, as: UTF8.self) + "}")
        case ("POST", "/v1/commands"):
            shared.state.withLock { $0.commands.append(request.body) }
            let answer: [String: Any] = ["succeeded": s.commandAnswer.succeeded, "message": s.commandAnswer.message]
            return ControlTestServer.response(s.commandAnswer.status, json(answer))
        default:
            return ControlTestServer.response(404, #"{"error":"No route \#(route).","protocol_version":1}"#)
        }
    }

    static func json(_ object: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
