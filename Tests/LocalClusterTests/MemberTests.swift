import Foundation
import Testing

@testable import LocalCluster

@Suite("Member")
struct MemberTests {
    @Test("kill9 makes the port refuse and restart brings the server back with its data")
    func kill9AndRestart() throws {
        let cluster = try LocalCluster.start()
        defer { cluster.stop() }
        let member = cluster.primary
        // synchronous_commit is off in a LocalCluster: without this the commit could still sit in WAL buffers.
        try member.psql("SET synchronous_commit = on; CREATE TABLE survivor (id int); INSERT INTO survivor VALUES (1)")
        let before = try #require(member.postmasterPID)

        try member.kill9()
        #expect(member.ping() == .refusing)
        #expect(throws: LocalClusterError.self) { try member.psql("SELECT 1", timeout: .seconds(5)) }

        try member.restart()
        #expect(member.ping() == .responding)
        #expect(try member.psql("SELECT id FROM survivor") == "1")
        #expect(member.postmasterPID != before)

        try member.restart()  // a running server restarts too
        #expect(try member.psql("SELECT 1") == "1")
    }

    @Test("pause hangs new connects and queries on open connections; resume restores both")
    func pauseAndResume() throws {
        let cluster = try LocalCluster.start()
        defer { cluster.stop() }
        let member = cluster.primary
        let session = try InteractivePsql(member)
        defer { session.close() }
        session.send("SELECT 'before';")
        #expect(session.readLine(timeout: .seconds(10)) == "before")

        try member.pause()
        #expect(member.isPaused)
        #expect(member.ping(timeout: .milliseconds(300)) == .notResponding)
        session.send("SELECT 'during';")
        #expect(session.readLine(timeout: .milliseconds(300)) == nil)

        member.resume()
        #expect(!member.isPaused)
        #expect(session.readLine(timeout: .seconds(10)) == "during")
        #expect(member.ping() == .responding)
        #expect(try member.psql("SELECT 1") == "1")

        try member.pause()  // stop() must resume a paused member before shutting it down
        cluster.stop()
        #expect(!FileManager.default.fileExists(atPath: cluster.directory))
        #expect(member.ping() == .refusing)
    }
}
