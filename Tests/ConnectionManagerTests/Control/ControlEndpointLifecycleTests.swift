import Foundation
import LocalCluster
import Logging
import Testing

@testable import ConnectionManager

#if canImport(Glibc)
    import Glibc
#endif

/// Starting and stopping the endpoint: the socket file's life, stale and live sockets, typed start errors.
@Suite("ControlEndpoint lifecycle", .serialized)
struct ControlEndpointLifecycleTests {
    static func isSocket(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK
    }

    @Test("shutdown() removes the socket file; a file that is no longer ours is left alone")
    func shutdownRemovesTheFile() throws {
        let socket = ControlTests.directory() + "/r.sock"
        let manager = try ControlTests.manager("remove", socket: socket)
        #expect(Self.isSocket(socket))
        manager.shutdown()
        #expect(!FileManager.default.fileExists(atPath: socket))
        #expect(manager.controlSocketPath == nil)

        // Someone replaced our file: shutdown does not remove theirs.
        let other = try ControlTests.manager("remove2", socket: socket)
        unlink(socket)
        let theirs = try UnixSocket.listen(at: socket, backlog: 1)
        defer { UnixSocket.close(theirs) }
        other.shutdown()
        #expect(Self.isSocket(socket))
    }

    @Test("a stale socket left by a crashed process is replaced; a live one is an error naming DB_CONTROL_SOCKET")
    func staleAndLiveSockets() throws {
        let socket = ControlTests.directory() + "/x.sock"
        // A crash: a process bound the socket and died (SIGKILL) without removing it.
        let crashed = Process()
        crashed.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        crashed.arguments = [
            "-c",
            "import socket,os,signal; s=socket.socket(socket.AF_UNIX); s.bind('\(socket)'); s.listen(1); os.kill(os.getpid(), signal.SIGKILL)",
        ]
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") {
            try crashed.run()
            crashed.waitUntilExit()
        } else {
            UnixSocket.close(try UnixSocket.listen(at: socket, backlog: 1))  // the same leftover, made here
        }
        #expect(Self.isSocket(socket), "the crashed process left its socket file")
        let manager = try ControlTests.manager("stale", socket: socket)
        defer { manager.shutdown() }
        #expect(manager.controlSocketPath == socket)
        let client = try ControlTests.RawClient(socket)
        client.send("GET /v1/info HTTP/1.1\r\n\r\n")
        #expect(ControlTests.RawClient.status(client.readAll()) == 200)

        // A second service on the same path: refused, and the first keeps its socket.
        let error = try #require(throws: ConfigurationError.self) {
            try ControlTests.manager("live", socket: socket)
        }
        guard case .controlEndpointFailed(let setting, let path, let reason) = error else {
            Issue.record("unexpected \(error)")
            return
        }
        #expect(setting == "DB_CONTROL_SOCKET")
        #expect(path == socket)
        #expect(reason.contains("live"))
        #expect(error.description.contains("DB_CONTROL_SOCKET") && error.description.contains(socket))
        let still = try ControlTests.RawClient(socket)
        still.send("GET /v1/info HTTP/1.1\r\n\r\n")
        #expect(ControlTests.RawClient.status(still.readAll()) == 200)
    }

    @Test("a path that is not a socket is never removed; a missing directory is a typed error from fromEnvironment")
    func notASocket() throws {
        let directory = ControlTests.directory()
        let file = directory + "/important.txt"
        #expect(FileManager.default.createFile(atPath: file, contents: Data("keep me".utf8)))
        #expect(throws: ConfigurationError.self) { try ControlTests.manager("file", socket: file) }
        #expect((try? String(contentsOfFile: file, encoding: .utf8)) == "keep me")

        let url = try LocalCluster.shared().primary.url
        let error = try #require(throws: ConfigurationError.self) {
            try ConnectionManager.fromEnvironment([
                "DATABASE_URL": url, "DB_HEALTH_CHECK": "off", "DB_CONTROL_SOCKET": directory + "/missing/dir.sock",
            ])
        }
        #expect(error.description.contains("DB_CONTROL_SOCKET"), "\(error)")
        // Nothing was left behind: no private directory, no socket.
        #expect((try FileManager.default.contentsOfDirectory(atPath: directory)) == ["important.txt"])
    }

    @Test("auto: <pool name>.<pid>.sock in the per-user 0700 directory, found by sockets(in:)")
    func auto() throws {
        let url = try LocalCluster.shared().primary.url
        let manager = try ConnectionManager.fromEnvironment([
            "DATABASE_URL": url, "DB_HEALTH_CHECK": "off", "DB_CONTROL_SOCKET": "auto", "DB_POOL_NAME": "auto-test",
        ])
        defer { manager.shutdown() }
        let directory = ControlSocketPath.defaultDirectory()
        let path = try #require(manager.controlSocketPath)
        #expect(path == directory + "/auto-test.\(getpid()).sock")
        var info = stat()
        #expect(stat(directory, &info) == 0 && info.st_mode & 0o777 == 0o700 && info.st_uid == getuid())
        #expect(lstat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(
            ControlSocketPath.sockets(in: directory).contains(.init(path: path, poolName: "auto-test", pid: getpid())))
        // The private directory used for binding is gone.
        #expect(
            !(try FileManager.default.contentsOfDirectory(atPath: directory)).contains { $0.hasPrefix(".pooltop-") })
    }

    @Test("a planted password never appears in any response, log line or event")
    func passwordNeverLeaks() throws {
        let secret = "PlantedSecret-8231"
        let member = try LocalCluster.shared().primary
        let handler = CapturingLogHandler()
        var config = try ManagerTests.configuration(
            member.url(user: "postgres", password: secret), applicationName: ManagerTests.applicationName("secret"))
        config.failoverURLs = [
            try DatabaseURL("postgresql://app:\(secret)@127.0.0.1:\(try BlackHoleListener.closedPort())/app")
        ]
        config.failoverEnabled = true
        config.failoverRetryAttempts = 0
        config.leakThreshold = .milliseconds(200)
        let socket = ControlTests.directory() + "/p.sock"
        config.controlSocket = .path(socket)
        let manager = try ConnectionManager(configuration: config, logger: Logger(label: "p") { _ in handler })
        defer { manager.shutdown() }
        manager.checkHealthNow()
        let leak = try manager.checkOut()
        _ = try leak.execute("SELECT 1")
        #expect(ManagerTests.eventually { !manager.snapshot().leaks.isEmpty })
        let id = try #require(manager.snapshot().leaks.first?.info.connectionID)

        var bodies: [String] = []
        func request(_ text: String) throws {
            let client = try ControlTests.RawClient(socket)
            client.send(text)
            bodies.append(client.readAll())
        }
        for route in [
            "/v1/info", "/v1/snapshot", "/v1/snapshot?events_after=0", "/v1/status", "/v1/leaks/\(id)/stack",
            "/v1/nope",
        ] {
            try request("GET \(route) HTTP/1.1\r\n\r\n")
        }
        for body in [
            #"{"command":"failover","target":1}"#, #"{"command":"suspend"}"#, #"{"command":"resume"}"#,
            #"{"command":"evict"}"#, #"{"command":"terminate","connection_id":\#(id)}"#, #"{"command":"x"}"#,
        ] {
            try request("POST /v1/commands HTTP/1.1\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        }
        leak.close()
        #expect(bodies.count == 12)
        #expect(bodies.allSatisfy { ControlTests.RawClient.status($0) > 0 })
        #expect(bodies.contains { $0.contains("***") }, "URLs are there, masked")
        for body in bodies { #expect(!body.contains(secret), "password in a response: \(body.prefix(300))") }
        for line in handler.lines { #expect(!line.contains(secret), "password in the log: \(line)") }
        for event in manager.snapshot().events { #expect(!event.message.contains(secret), "password in an event") }
    }
}
