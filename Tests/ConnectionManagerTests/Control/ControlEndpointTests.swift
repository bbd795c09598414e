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
}
