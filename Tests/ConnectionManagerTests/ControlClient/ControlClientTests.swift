import ConnectionManager
import ControlTestServer
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The client against a real Unix socket served by a tiny test server: every route's reply is read, and every
/// way a peer can fail is a typed error that names the socket.
@Suite("Control client")
struct ControlClientTests {
    static func snapshot() throws -> ManagerSnapshot {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Golden/Control/snapshot-v1.json")
        return try ControlJSON.decoder().decode(ManagerSnapshot.self, from: Data(contentsOf: url))
    }

    @Test func infoSnapshotStatusStackAndCommands() throws {
        let service = try FakeService(path: ControlTestServer.temporaryPath("routes"), snapshot: try Self.snapshot())
        defer { service.server.stop() }
        service.update {
            $0.stacks[7] = [StackFrame(index: 0, symbol: "Worker.run()", file: "/src/Worker.swift", line: 42)]
            $0.firstSequence = 10
        }
        let client = ControlClient(socketPath: service.path)
        let info = try client.info()
        #expect(info.poolName == "orders-api" && info.pid == 4242 && info.mayAct)

        let full = try client.snapshot()
        let events = full.snapshot.events.count
        #expect(events > 0)
        #expect(full.eventsCursor == 10 + events - 1)
        #expect(full.eventSequences == (0..<events).map { 10 + $0 })
        let none = try client.snapshot(eventsAfter: full.eventsCursor)
        #expect(none.snapshot.events.isEmpty)
        #expect(service.server.requests.last?.target == "/v1/snapshot?events_after=\(full.eventsCursor!)")

        let status = try client.status()
        #expect(status.isHealthy == (full.snapshot.lastHealthCheck?.healthy ?? false))
        #expect(status.status.poolMetrics == full.snapshot.metrics)

        #expect(try client.stack(connectionID: 7)?.first?.line == 42)
        #expect(try client.stack(connectionID: 99) == nil)

        service.update { $0.commandAnswer = (409, false, "Refused: db2 is a standby; promote it first.") }
        let refused = try client.perform(.failover(toTarget: 1))
        #expect(refused.status == 409 && !refused.succeeded)
        #expect(refused.message == "Refused: db2 is a standby; promote it first.")
        #expect(service.commands.last == #"{"command":"failover","target":1}"#)
        service.update { $0.commandAnswer = (200, true, "Connection #7 terminated.") }
        #expect(try client.perform(.terminateLeak(connectionID: 7)).succeeded)
        #expect(service.commands.last == #"{"command":"terminate","connection_id":7}"#)
        #expect(service.server.requests.allSatisfy { $0.method != "GET" || $0.body.isEmpty })
    }

    @Test func olderServiceWithoutSequences() throws {
        let service = try FakeService(path: ControlTestServer.temporaryPath("old"), snapshot: try Self.snapshot())
        defer { service.server.stop() }
        service.update { $0.sendsSequences = false }
        let reply = try ControlClient(socketPath: service.path).snapshot()
        #expect(reply.eventsCursor == nil)
        #expect(reply.eventSequences.allSatisfy { $0 == nil })
        #expect(reply.eventSequences.count == reply.snapshot.events.count)
    }

    @Test func anotherProtocolVersionIsNamed() throws {
        let service = try FakeService(path: ControlTestServer.temporaryPath("v2"), snapshot: try Self.snapshot())
        defer { service.server.stop() }
        service.update { $0.protocolVersion = 2 }
        let error = #expect(throws: ControlClientError.self) { try ControlClient(socketPath: service.path).info() }
        #expect(error == .protocolVersion(service.path, theirs: 2))
        #expect(
            error?.description
                == "the service at \(service.path) speaks control protocol version 2; this pooltop speaks 1.")
    }

    @Test func noInfoRouteIsAProtocolMismatch() throws {
        let server = try ControlTestServer(path: ControlTestServer.temporaryPath("404")) { _ in
            ControlTestServer.response(404, "not found", protocolHeader: nil)
        }
        defer { server.stop() }
        #expect(throws: ControlClientError.protocolVersion(server.path, theirs: nil)) {
            try ControlClient(socketPath: server.path).info()
        }
    }

    @Test func goneRefusedSilentSlowAndHuge() throws {
        let missing = ControlTestServer.temporaryPath("missing")
        #expect(throws: ControlClientError.noSuchSocket(missing)) { try ControlClient(socketPath: missing).info() }

        // A socket file nobody accepts on (a service that died without removing it).
        let stale = try ControlTestServer(path: ControlTestServer.temporaryPath("stale")) { _ in [] }
        stale.stop(removingFile: false)
        defer { unlink(stale.path) }
        #expect(throws: ControlClientError.connectionRefused(stale.path)) {
            try ControlClient(socketPath: stale.path).info()
        }

        // Accepted and closed without a byte: what a refused peer sees.
        let silent = try ControlTestServer(path: ControlTestServer.temporaryPath("silent")) { _ in [] }
        defer { silent.stop() }
        #expect(throws: ControlClientError.closedWithoutResponse(silent.path)) {
            try ControlClient(socketPath: silent.path).info()
        }

        let slow = try ControlTestServer(path: ControlTestServer.temporaryPath("slow")) { _ in
            usleep(1_500_000)
            return ControlTestServer.response(200, "{}")
        }
        defer { slow.stop() }
        let clock = ContinuousClock()
        let start = clock.now
        #expect(throws: ControlClientError.timedOut(slow.path, phase: "response", after: .milliseconds(300))) {
            try ControlClient(socketPath: slow.path, timeout: .milliseconds(300)).info()
        }
        #expect(clock.now - start < .seconds(1), "the deadline holds")

        let huge = try ControlTestServer(path: ControlTestServer.temporaryPath("huge")) { _ in
            ControlTestServer.response(200, String(repeating: "x", count: 5000))
        }
        defer { huge.stop() }
        #expect(throws: ControlClientError.responseTooLarge(limit: 4096)) {
            try ControlClient(socketPath: huge.path, bodyLimit: 4096).info()
        }

        let cut = try ControlTestServer(path: ControlTestServer.temporaryPath("cut")) { _ in
            Array(ControlTestServer.response(200, "{\"protocol_version\":1}").dropLast(3))
        }
        defer { cut.stop() }
        let error = #expect(throws: ControlClientError.self) { try ControlClient(socketPath: cut.path).info() }
        #expect(error?.description.contains("mid-response") == true, "\(String(describing: error))")

        let tooLong = "/tmp/" + String(repeating: "a", count: 120) + ".sock"
        let invalid = #expect(throws: ControlClientError.self) { try ControlClient(socketPath: tooLong).info() }
        #expect(invalid?.description.contains("at most 107") == true)
    }

    @Test func autoNamesAndTheNewestSocketOfAPool() throws {
        #expect(ControlDiscovery.parseAutoName("orders-api.4242.sock")! == ("orders-api", 4242))
        #expect(ControlDiscovery.parseAutoName("my.pool.17.sock")! == ("my.pool", 17))
        #expect(ControlDiscovery.parseAutoName("orders.sock") == nil)
        #expect(ControlDiscovery.parseAutoName("orders.x1.sock") == nil)
        #expect(ControlDiscovery.parseAutoName("bad name.1.sock") == nil)

        let directory = "/tmp/pt-discovery-\(getpid())"
        mkdir(directory, 0o700)
        defer { rmdir(directory) }
        let old = try ControlTestServer(path: "\(directory)/orders.100.sock") { _ in [] }
        defer { old.stop() }
        usleep(20_000)
        let new = try ControlTestServer(path: "\(directory)/orders.200.sock") { _ in [] }
        defer { new.stop() }
        let other = try ControlTestServer(path: "\(directory)/billing.300.sock") { _ in [] }
        defer { other.stop() }
        #expect(ControlDiscovery.sockets(in: directory).count == 3)
        #expect(ControlDiscovery.newest(poolName: "orders", in: directory)?.pid == 200)
        #expect(ControlDiscovery.newest(poolName: "orders", in: directory, excluding: new.path)?.pid == 100)
        #expect(ControlDiscovery.kind(of: directory) == .directory)
        #expect(ControlDiscovery.kind(of: new.path) == .socket)
        #expect(ControlDiscovery.kind(of: "\(directory)/nothing") == .missing)
    }

    @Test func controlDirectoryRule() {
        let uid = getuid()
        #expect(ControlDiscovery.directory(environment: [:]) == "/tmp/pooltop-\(uid)")
        #expect(ControlDiscovery.directory(environment: ["XDG_RUNTIME_DIR": "relative"]) == "/tmp/pooltop-\(uid)")
        #expect(ControlDiscovery.directory(environment: ["XDG_RUNTIME_DIR": "/nonexistent"]) == "/tmp/pooltop-\(uid)")
        let runtime = "/tmp/pt-runtime-\(getpid())"
        mkdir(runtime, 0o700)
        defer { rmdir(runtime) }
        #expect(ControlDiscovery.directory(environment: ["XDG_RUNTIME_DIR": runtime]) == "\(runtime)/pooltop")
    }
}
