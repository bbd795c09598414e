import Foundation
import LocalCluster
import Logging
import Testing

@testable import ConnectionManager

#if canImport(Glibc)
    import Glibc
#endif

/// The control endpoint against a real manager on a real PostgreSQL, spoken to with `curl --unix-socket` (the
/// documented shape) and a raw client for what curl cannot do.
@Suite("ControlEndpoint", .serialized)
struct ControlEndpointTests {
    @Test("GET /v1/info and /v1/snapshot answer with the protocol's keys; the socket is 0600 in a 0700 directory")
    func infoAndSnapshot() throws {
        try #require(ControlTests.hasCurl, "curl is not installed: the curl tests need it")
        let directory = ControlTests.directory()
        let socket = directory + "/svc.sock"
        let manager = try ControlTests.manager("info", socket: socket)
        defer { manager.shutdown() }
        #expect(manager.controlSocketPath == socket)

        var info = stat()
        #expect(lstat(socket, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(stat(directory, &info) == 0 && info.st_mode & 0o777 == 0o700)

        let answer = try ControlTests.curl(socket, "/v1/info")
        #expect(answer.status == 200)
        let json = try #require(answer.json)
        #expect(json["protocol_version"] as? Int == 1)
        #expect(json["schema_version"] as? Int == 1)
        #expect(json["pool_name"] as? String == "ctl-info")
        #expect(json["pid"] as? Int == Int(getpid()))
        #expect(json["socket"] as? String == socket)
        #expect(json["access"] as? String == "act")
        #expect((json["library"] as? String)?.hasPrefix("pooltop ") == true)
        #expect(json["started_at"] is String && json["program"] is String && json["target"] is String)
        #expect(answer.headers.contains("X-Pooltop-Protocol: 1"))
        #expect(answer.headers.contains("Connection: close"))
        #expect(answer.headers.contains("Content-Type: application/json"))

        manager.suspend()
        manager.resume()
        let snapshot = try ControlTests.curl(socket, "/v1/snapshot")
        #expect(snapshot.status == 200)
        let body = try #require(snapshot.json)
        #expect(body["protocol_version"] as? Int == 1)
        let cursor = try #require(body["events_cursor"] as? Int)
        let inner = try #require(body["snapshot"] as? [String: Any])
        #expect(inner["pool_metrics"] is [String: Any])
        let events = try #require(inner["events"] as? [[String: Any]])
        #expect(events.count >= 2)
        #expect(events.last?["sequence"] as? Int == cursor)
        // The same JSON decodes as the library's own value.
        let decoded = try ControlJSON.decoder().decode(ControlSnapshotResponse.self, from: Data(snapshot.body.utf8))
        #expect(decoded.snapshot.events.map(\.sequence) == decoded.snapshot.events.map(\.sequence).sorted())
    }

    @Test("the health cursor: health_after=N returns only newer checks, a cursor not in the history the whole one")
    func healthCursor() throws {
        try #require(ControlTests.hasCurl, "curl is not installed: the curl tests need it")
        let socket = ControlTests.directory() + "/h.sock"
        let manager = try ControlTests.manager("health", socket: socket)
        defer { manager.shutdown() }
        _ = manager.checkHealthNow()
        _ = manager.checkHealthNow()
        let first = try ControlTests.curl(socket, "/v1/snapshot")
        let whole = try ControlJSON.decoder().decode(ControlSnapshotResponse.self, from: Data(first.body.utf8))
        let cursor = try #require(whole.healthCursor)
        #expect(cursor >= 2 && whole.healthHistoryAfter == nil)
        #expect(whole.healthCount == whole.snapshot.healthHistory.count)

        _ = manager.checkHealthNow()
        let after = try ControlTests.curl(socket, "/v1/snapshot?events_after=0&health_after=\(cursor)")
        #expect(after.status == 200)
        let delta = try ControlJSON.decoder().decode(ControlSnapshotResponse.self, from: Data(after.body.utf8))
        #expect(delta.healthHistoryAfter == cursor)
        let newer = delta.snapshot.healthHistory
        #expect(!newer.isEmpty && newer.count <= (delta.healthCursor ?? 0) - cursor)
        #expect(newer.last == delta.snapshot.lastHealthCheck)
        // What was sent is the tail of the whole history (the manager's own, at least as new as the reply).
        let history = manager.snapshot().healthHistory
        #expect(history.count >= delta.healthCount ?? .max)
        // (Compared by response time: the JSON's timestamps are to the millisecond.)
        let times = history.map(\.responseTime)
        let newest = try #require(newer.last?.responseTime)
        let end = try #require(times.lastIndex(of: newest))
        #expect(Array(times[...end].suffix(newer.count)) == newer.map(\.responseTime))

        // A cursor the history does not hold (ahead of it, as from another process): the whole history.
        let ahead = try ControlTests.curl(socket, "/v1/snapshot?health_after=\(cursor + 1_000_000)")
        let body = try #require(ahead.json)
        #expect(body["health_history_after"] == nil)
        #expect(
            ((body["snapshot"] as? [String: Any])?["health_history"] as? [Any])?.count == body["health_count"] as? Int)

        let bad = try ControlTests.curl(socket, "/v1/snapshot?health_after=soon")
        #expect(bad.status == 400)
        #expect(bad.json?["error"] as? String == "health_after must be a whole number of at least 0.")
    }

    @Test("the events cursor: events_after=N returns only newer events; commands are events naming their sender")
    func eventsCursorAndCommands() throws {
        try #require(ControlTests.hasCurl, "curl is not installed: the curl tests need it")
        let socket = ControlTests.directory() + "/c.sock"
        let manager = try ControlTests.manager("commands", socket: socket)
        defer { manager.shutdown() }
        manager.resume()
        let first = try #require(try ControlTests.curl(socket, "/v1/snapshot").json)
        let cursor = try #require(first["events_cursor"] as? Int)
        #expect(cursor >= 1)
        let none = try #require(try ControlTests.curl(socket, "/v1/snapshot?events_after=\(cursor)").json)
        #expect(((none["snapshot"] as? [String: Any])?["events"] as? [Any])?.isEmpty == true)
        #expect(none["events_cursor"] as? Int == cursor)

        let suspended = try ControlTests.curl(socket, "/v1/commands", method: "POST", body: #"{"command":"suspend"}"#)
        #expect(suspended.status == 200)
        #expect(suspended.json?["succeeded"] as? Bool == true)
        #expect(manager.metrics().isSuspended)
        let after = try ControlTests.curl(socket, "/v1/snapshot?events_after=\(cursor)")
        let decoded = try ControlJSON.decoder().decode(ControlSnapshotResponse.self, from: Data(after.body.utf8))
        #expect(decoded.snapshot.events.count == 1)
        let event = try #require(decoded.snapshot.events.first)
        #expect(event.kind == .suspended)
        #expect(event.sequence == cursor + 1 && decoded.eventsCursor == cursor + 1)
        #expect(event.message.contains("suspended by uid \(getuid()) pid "), "\(event.message)")
        #expect(event.message.contains("(curl)"), "\(event.message)")

        #expect(
            try ControlTests.curl(socket, "/v1/commands", method: "POST", body: #"{"command":"resume"}"#).status == 200)
        #expect(!manager.metrics().isSuspended)

        // Evict: an idle connection is closed.
        try manager.withConnection { _ = try $0.execute("SELECT 1") }
        #expect(manager.metrics().checkedIn == 1)
        let evicted = try ControlTests.curl(socket, "/v1/commands", method: "POST", body: #"{"command":"evict"}"#)
        #expect(evicted.status == 200)
        #expect(manager.metrics().checkedIn == 0)
        #expect(manager.snapshot().events.last?.message.contains("evicted by uid") == true)

        // Terminate: the holder's connection is ended on the server; its next statement fails.
        let held = try manager.checkOut()
        let id = try #require(manager.pool.checkedOutConnections().first?.connectionID)
        let stack = try ControlTests.curl(socket, "/v1/leaks/\(id)/stack")
        #expect(stack.status == 200)
        #expect(stack.json?["connection_id"] as? Int == id)
        let frames = try #require(stack.json?["frames"] as? [[String: Any]])
        #expect(!frames.isEmpty, "the checkout stack is captured by default")
        #expect(
            frames.contains { ($0["file"] as? String)?.hasSuffix("ControlEndpointTests.swift") == true },
            "symbolicated in the service: \(frames.prefix(8))")
        #expect(try ControlTests.curl(socket, "/v1/leaks/999999/stack").status == 404)
        let terminated = try ControlTests.curl(
            socket, "/v1/commands", method: "POST", body: #"{"command":"terminate","connection_id":\#(id)}"#)
        #expect(terminated.status == 200, "\(terminated.body)")
        #expect(throws: SessionError.terminatedAsLeak(connectionID: id)) { try held.execute("SELECT 1") }
        held.close()
        #expect(manager.snapshot().events.last { $0.kind == .leakTerminated }?.message.contains("by uid") == true)
        let gone = try ControlTests.curl(
            socket, "/v1/commands", method: "POST", body: #"{"command":"terminate","connection_id":\#(id)}"#)
        #expect(gone.status == 409)
        #expect(gone.json?["succeeded"] as? Bool == false)

        // Failover with nowhere to go: refused by the manager (409) with its reason, and the request is an event.
        let failover = try ControlTests.curl(socket, "/v1/commands", method: "POST", body: #"{"command":"failover"}"#)
        #expect(failover.status == 409, "\(failover.body)")
        #expect((failover.json?["message"] as? String)?.isEmpty == false)
        #expect(
            manager.snapshot().events.contains {
                $0.message.contains("A failover to the next suitable target was requested by uid")
            })

        // Bad commands.
        #expect(
            try ControlTests.curl(socket, "/v1/commands", method: "POST", body: #"{"command":"drop"}"#).status == 400)
        #expect(try ControlTests.curl(socket, "/v1/commands", method: "POST", body: "{").status == 400)
    }

    @Test("failover through the socket moves the pool; /v1/status is 200 healthy and 503 when the server is stopped")
    func failoverAndStatus() throws {
        try #require(ControlTests.hasCurl, "curl is not installed: the curl tests need it")
        let other = try LocalCluster.start()
        defer { other.stop() }
        let otherURL = try DatabaseURL(other.primary.url)

        // A manual failover to the second target, sent over the socket.
        let socket = ControlTests.directory() + "/f.sock"
        let moving = try ControlTests.manager("failover", socket: socket) { config in
            config.failoverURLs = [otherURL]
            config.failoverEnabled = true
        }
        let moved = try ControlTests.curl(
            socket, "/v1/commands", method: "POST", body: #"{"command":"failover","target":1}"#)
        #expect(moved.status == 200, "\(moved.body)")
        #expect(moving.snapshot().failover.currentURL == otherURL.masked)
        #expect(try ControlTests.curl(socket, "/v1/info").json?["target"] as? String == otherURL.masked)
        moving.shutdown()

        // /v1/status of a manager on that server: 200 while it answers, 503 once it is stopped.
        let statusSocket = ControlTests.directory() + "/st.sock"
        let manager = try ControlTests.manager("status", socket: statusSocket) { config in
            config.databaseURL = otherURL
        }
        defer { manager.shutdown() }
        manager.checkHealthNow()
        let healthy = try ControlTests.curl(statusSocket, "/v1/status")
        #expect(healthy.status == 200)
        let json = try #require(healthy.json)
        for key in ["healthy", "pool_metrics", "health_check", "health_stats", "failover_stats", "leak_detection"] {
            #expect(json[key] != nil, "status JSON lacks \(key)")
        }
        #expect(json["healthy"] as? Bool == true)
        // Exactly what pooltop status --json prints.
        #expect(healthy.body == String(decoding: try manager.healthStatus().jsonData(), as: UTF8.self))

        try other.primary.kill9()
        manager.checkHealthNow()
        let down = try ControlTests.curl(statusSocket, "/v1/status")
        #expect(down.status == 503)
        #expect(down.json?["healthy"] as? Bool == false)
        #expect((down.json?["health_check"] as? [String: Any])?["error"] is String)
    }

    @Test(
        "unknown route 404, wrong method 405 with Allow, huge headers 431, malformed 400: each a JSON error, then close"
    )
    func errors() throws {
        try #require(ControlTests.hasCurl, "curl is not installed: the curl tests need it")
        let socket = ControlTests.directory() + "/e.sock"
        let manager = try ControlTests.manager("errors", socket: socket)
        defer { manager.shutdown() }
        let unknown = try ControlTests.curl(socket, "/v1/nothing")
        #expect(unknown.status == 404)
        #expect(unknown.json?["protocol_version"] as? Int == 1)
        #expect((unknown.json?["error"] as? String)?.isEmpty == false)
        let wrong = try ControlTests.curl(socket, "/v1/snapshot", method: "DELETE")
        #expect(wrong.status == 405)
        #expect(wrong.headers.contains("Allow: GET"))
        let getCommands = try ControlTests.curl(socket, "/v1/commands")
        #expect(getCommands.status == 405 && getCommands.headers.contains("Allow: POST"))

        let client = try ControlTests.RawClient(socket)
        client.send("GET /v1/info HTTP/1.1\r\nX-Huge: " + String(repeating: "h", count: 10_000) + "\r\n\r\n")
        let huge = client.readAll()
        #expect(ControlTests.RawClient.status(huge) == 431)
        #expect(huge.contains(#""protocol_version":1"#))

        let garbage = try ControlTests.RawClient(socket)
        garbage.send("\u{16}\u{3}\u{1}\u{2}\u{0}\u{1}\r\n\r\n")  // a TLS hello, say
        #expect(ControlTests.RawClient.status(garbage.readAll()) == 400)

        let big = try ControlTests.RawClient(socket)
        big.send("POST /v1/commands HTTP/1.1\r\nContent-Length: 100000\r\n\r\n")
        #expect(ControlTests.RawClient.status(big.readAll()) == 413)

        let chunked = try ControlTests.RawClient(socket)
        chunked.send("POST /v1/commands HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(ControlTests.RawClient.status(chunked.readAll()) == 411)
        // Still serving.
        #expect(try ControlTests.curl(socket, "/v1/info").status == 200)
    }

    @Test("a slow client gets 408 after 5 s and does not hold up others")
    func slowClient() throws {
        let socket = ControlTests.directory() + "/s.sock"
        let manager = try ControlTests.manager("slow", socket: socket)
        defer { manager.shutdown() }
        let started = ContinuousClock.now
        let slow = try ControlTests.RawClient(socket)
        slow.send("GET /v1/info HTTP/1.1\r\nHo")
        // Others are served meanwhile, at once.
        for _ in 0..<5 {
            let quick = try ControlTests.RawClient(socket)
            quick.send("GET /v1/info HTTP/1.1\r\n\r\n")
            #expect(ControlTests.RawClient.status(quick.readAll()) == 200)
        }
        #expect(ContinuousClock.now - started < .seconds(2))
        let answer = slow.readAll()
        let waited = ContinuousClock.now - started
        #expect(ControlTests.RawClient.status(answer) == 408)
        #expect(waited >= .milliseconds(4900) && waited < .seconds(7), "408 after \(waited)")
    }

    @Test("100 concurrent clients are each answered (200, or 503 beyond 32 open), and the service keeps serving")
    func hundredConcurrentClients() throws {
        let socket = ControlTests.directory() + "/h.sock"
        let manager = try ControlTests.manager("hundred", socket: socket)
        defer { manager.shutdown() }
        let statuses = Locked<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 100) { i in
            guard let client = try? ControlTests.RawClient(socket) else {
                statuses.update { $0.append(-1) }
                return
            }
            client.send("GET \(i % 2 == 0 ? "/v1/snapshot" : "/v1/info") HTTP/1.1\r\n\r\n")
            let response = client.readAll()
            let status = ControlTests.RawClient.status(response)
            // A complete response: its body is as long as it says.
            if status == 200, let range = response.range(of: "\r\n\r\n") {
                let length = response[..<range.lowerBound].split(separator: "\r\n").first {
                    $0.hasPrefix("Content-Length: ")
                }
                .flatMap { Int($0.dropFirst("Content-Length: ".count)) }
                if length != response[range.upperBound...].utf8.count { statuses.update { $0.append(-2) } }
            }
            statuses.update { $0.append(status) }
        }
        let seen = statuses.value
        #expect(seen.count == 100)
        #expect(seen.allSatisfy { $0 == 200 || $0 == 503 }, "\(seen.sorted())")
        #expect(seen.filter { $0 == 200 }.count >= 32, "\(seen.filter { $0 == 200 }.count) answered 200")
        #expect(ManagerTests.eventually { manager.control.withLock { $0 }?.openConnectionCount == 0 })
        let after = try ControlTests.RawClient(socket)
        after.send("GET /v1/info HTTP/1.1\r\n\r\n")
        #expect(ControlTests.RawClient.status(after.readAll()) == 200)
    }

    @Test("clients that hang up before or during the response do not hurt the service (no SIGPIPE)")
    func clientsThatDisconnect() throws {
        let socket = ControlTests.directory() + "/d.sock"
        let manager = try ControlTests.manager("disconnect", socket: socket)
        defer { manager.shutdown() }
        // A large snapshot: many events, so a response does not fit one write.
        // 200 events of ~2.3 KB: ~460 KB, more than a Unix socket's send buffer (208 KiB by default).
        for i in 0..<200 { manager.record(.info, String(repeating: "event \(i) ", count: 250), log: false) }
        for i in 0..<30 {
            let client = try ControlTests.RawClient(socket)
            client.send("GET /v1/snapshot HTTP/1.1\r\n\r\n")
            if i % 3 == 1 {
                // Read a little of the response, then hang up mid-response.
                var chunk = [UInt8](repeating: 0, count: 100)
                _ = chunk.withUnsafeMutableBytes { recv(client.fd, $0.baseAddress, $0.count, 0) }
            } else if i % 3 == 2 {
                client.send("GET /v1/snap")  // half a request, then gone
            }
            // Dropping the client closes it.
        }
        let half = try ControlTests.RawClient(socket)
        half.send("GET /v1/info HTTP/1.1\r\nHost: x")
        _ = half
        #expect(ManagerTests.eventually { manager.control.withLock { $0 }?.openConnectionCount ?? 9 <= 1 })
        let after = try ControlTests.RawClient(socket)
        after.send("GET /v1/snapshot HTTP/1.1\r\n\r\n")
        let response = after.readAll()
        #expect(ControlTests.RawClient.status(response) == 200)
        #expect(response.utf8.count > 300_000)
    }
}
