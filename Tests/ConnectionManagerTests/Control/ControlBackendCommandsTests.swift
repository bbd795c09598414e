import Foundation
import LocalCluster
import Synchronization
import Testing

@testable import ConnectionManager

/// `POST /v1/commands` with `cancel_backend` / `terminate_backend`, spoken with curl to a real manager on a real
/// server; the sessions acted on are the test's own libpq connections.
@Suite("Control: cancel and terminate a server session", .serialized)
struct ControlBackendCommandsTests {
    @Test(
        "cancel_backend cancels a running statement, terminate_backend ends a session; bad bodies are 400, a gone pid 409"
    )
    func cancelAndTerminate() throws {
        try #require(ControlTests.hasCurl, "curl is not installed: the curl tests need it")
        let socket = ControlTests.directory() + "/svc.sock"
        let manager = try ControlTests.manager("backend", socket: socket)
        defer { manager.shutdown() }
        let url = try ManagerTests.sharedCluster().primary.url
        let sleeper = try PostgresConnection.connect(to: DatabaseURL(url), deadline: .seconds(10))
        let idle = try PostgresConnection.connect(to: DatabaseURL(url), deadline: .seconds(10))
        defer {
            sleeper.close()
            idle.close()
        }
        let failure = Mutex<PostgresError?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            do {
                _ = try sleeper.execute("SELECT pg_sleep(30)", timeout: .seconds(60))
            } catch let error as PostgresError {
                failure.withLock { $0 = error }
            } catch {}
            done.signal()
        }
        // Wait until the server runs it, so the cancel has a statement to hit.
        let running = ManagerTests.eventually {
            (try? idle.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active'",
                [.int(Int(sleeper.backendPID))])[row: 0].int(0)) == 1
        }
        try #require(running)

        let cancel = try ControlTests.curl(
            socket, "/v1/commands", method: "POST", body: #"{"command":"cancel_backend","pid":\#(sleeper.backendPID)}"#)
        #expect(cancel.status == 200, note(cancel.raw))
        #expect(cancel.json?["succeeded"] as? Bool == true)
        #expect((cancel.json?["message"] as? String)?.contains("pid \(sleeper.backendPID)") == true, note(cancel.body))
        #expect((cancel.json?["message"] as? String)?.contains("(curl)") == true, note(cancel.body))
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(failure.withLock { $0 }?.sqlState == "57014")
        #expect(try sleeper.execute("SELECT 1")[row: 0].int(0) == 1, "a cancelled session stays connected")

        let pid = idle.backendPID
        let terminate = try ControlTests.curl(
            socket, "/v1/commands", method: "POST", body: #"{"command":"terminate_backend","pid":\#(pid)}"#)
        #expect(terminate.status == 200, note(terminate.raw))
        #expect(
            (terminate.json?["message"] as? String)?.hasPrefix("Terminated pid \(pid)") == true, note(terminate.body))
        #expect(throws: PostgresError.self) { try idle.execute("SELECT 1") }
        let event = manager.snapshot().events.last { $0.message.contains("Terminated pid \(pid)") }
        #expect(event?.message.contains("by uid") == true, note("\(manager.snapshot().events.suffix(3))"))

        // The same pid again: the server says it is gone; a refusal is 409 with the sentence.
        let again = try ControlTests.curl(
            socket, "/v1/commands", method: "POST", body: #"{"command":"terminate_backend","pid":\#(pid)}"#)
        #expect(again.status == 409, note(again.raw))
        #expect(again.json?["succeeded"] as? Bool == false)
        for body in [
            #"{"command":"terminate_backend"}"#, #"{"command":"cancel_backend","pid":0}"#,
            #"{"command":"cancel_backend","pid":-4}"#, #"{"command":"cancel_backend","pid":"x"}"#,
        ] {
            let bad = try ControlTests.curl(socket, "/v1/commands", method: "POST", body: body)
            #expect(bad.status == 400, note("\(body): \(bad.raw)"))
        }
    }

    @Test("the request a client sends for each command is the one the router reads back")
    func roundTrip() throws {
        for command in [MonitorCommand.cancelBackend(pid: 4242), .terminateBackend(pid: 7)] {
            let body = try JSONEncoder().encode(ControlCommandRequest(command))
            #expect(try ControlRouter.command(from: Array(body)).get() == command)
        }
        let text = String(
            decoding: try JSONEncoder().encode(ControlCommandRequest(.terminateBackend(pid: 7))), as: UTF8.self)
        #expect(text.contains(#""command":"terminate_backend""#) && text.contains(#""pid":7"#), note(text))
    }
}
