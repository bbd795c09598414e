import Foundation
import Testing

@testable import LocalCluster

@Suite("LocalCluster")
struct LocalClusterTests {
    @Test("start, query over the socket and TCP, stop removes everything")
    func startQueryStop() throws {
        let cluster = try LocalCluster.start()
        defer { cluster.stop() }
        let member = cluster.primary

        #expect(FileManager.default.fileExists(atPath: member.dataDirectory + "/PG_VERSION"))
        #expect(try member.psql("SELECT 40 + 2") == "42")
        #expect(try member.psql("SHOW fsync") == "off")
        #expect(try member.psql("SHOW max_connections") == "200")
        #expect(try member.isInRecovery() == false)
        #expect(member.url == "postgresql://postgres@127.0.0.1:\(member.port)/postgres")
        #expect(member.ping() == .responding)
        #expect(cluster.standby == nil)

        cluster.stop()
        #expect(!FileManager.default.fileExists(atPath: cluster.directory))
        #expect(member.ping() == .refusing)
        cluster.stop()  // idempotent
    }

    @Test("a password user needs the right password while postgres stays trusted; settings apply")
    func passwordUserAndSettings() throws {
        let options = LocalCluster.Options(
            settings: ["cluster_name": "it's pooltop", "work_mem": "3MB"],
            passwordUser: .init(name: "app", password: "s3cret'"))
        let cluster = try LocalCluster.start(options)
        defer { cluster.stop() }

        let right = try psqlOverTCP(cluster.primary, user: "app", password: "s3cret'", sql: "SELECT current_user")
        #expect(right.0 == 0)
        #expect(right.1 == "app")
        let wrong = try psqlOverTCP(cluster.primary, user: "app", password: "nope", sql: "SELECT 1")
        #expect(wrong.0 != 0)
        #expect(wrong.1.contains("password authentication failed"))
        let trusted = try psqlOverTCP(cluster.primary, user: "postgres", password: "", sql: "SELECT 1")
        #expect(trusted.0 == 0)
        #expect(try cluster.primary.psql("SHOW cluster_name") == "it's pooltop")
        #expect(try cluster.primary.psql("SHOW work_mem") == "3MB")
        #expect(
            cluster.primary.url(user: "app", password: "s3cret'", database: "my db")
                == "postgresql://app:s3cret%27@127.0.0.1:\(cluster.primary.port)/my%20db")
    }

    @Test("a standby streams from the primary, is in recovery, and promote makes it writable")
    func standbyStreamsAndPromotes() throws {
        let cluster = try LocalCluster.start(.init(withStandby: true))
        defer { cluster.stop() }
        let standby = try #require(cluster.standby)

        #expect(standby.port != cluster.primary.port)
        #expect(try standby.isInRecovery())
        try cluster.primary.psql("CREATE TABLE streamed (id int); INSERT INTO streamed VALUES (7)")
        #expect(eventually { (try? standby.psql("SELECT id FROM streamed")) == "7" })
        #expect(throws: LocalClusterError.self) { try standby.psql("INSERT INTO streamed VALUES (8)") }

        try standby.promote()
        #expect(try standby.isInRecovery() == false)
        try standby.psql("INSERT INTO streamed VALUES (8)")
        #expect(try standby.psql("SELECT count(*) FROM streamed") == "2")
    }

    @Test("shared() starts exactly one cluster even when called from many threads at once")
    func sharedIsStartedOnce() async throws {
        let directories = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 { group.addTask { try LocalCluster.shared().directory } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(directories.count == 1)
        #expect(try LocalCluster.shared().primary.psql("SELECT 1") == "1")
    }

    @Test("missing binaries give an error that says what to install")
    func binariesMissing() throws {
        let error = #expect(throws: LocalClusterError.self) {
            try PostgresBinaries.locate(path: "/nonexistent", versionedRoot: "/nonexistent")
        }
        #expect(error?.description.contains("apt-get install postgresql") == true)
    }
}
