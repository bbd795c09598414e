import Foundation
import LocalCluster
import Testing

@testable import ConnectionManager

/// SQLSTATE 25006 (read-only transaction) means "this server was demoted" only when the server says it is a
/// standby; a caller's own `SET TRANSACTION READ ONLY` on a healthy primary must not evict the pool (issue 9,
/// finding 3).
@Suite("ReadOnlyErrors")
struct ReadOnlyErrorTests {
    static func isDemotionEvent(_ event: PoolEvent) -> Bool { event.message.contains("is read-only now") }

    @Test func aCallersOwnReadOnlyTransactionDoesNotEvictThePool() throws {
        let manager = try ManagerTests.manager("rocaller") {
            $0.poolSize = 4
            $0.maxOverflow = 0
            $0.prefill = true
        }
        defer { manager.shutdown() }
        let server = try ServerView(try ManagerTests.sharedCluster().primary.url)
        let table = "it_ro_\(UInt32.random(in: 0...UInt32.max))"
        try server.execute("CREATE TABLE \(table) (id int)")
        defer { _ = try? server.execute("DROP TABLE \(table)") }
        let pids = try server.backendPIDs(applicationName: manager.configuration.effectiveApplicationName)
        #expect(pids.count == 4)
        for _ in 0..<5 {
            let error = try #require(throws: PostgresError.self) {
                try manager.withSession { session in
                    try session.execute("SET TRANSACTION READ ONLY")
                    try session.execute("INSERT INTO \(table) VALUES (1)")
                }
            }
            #expect(error.isReadOnlyTransaction)
            let autocommit = try #require(throws: PostgresError.self) {
                try manager.withConnection { try $0.execute("BEGIN READ ONLY; INSERT INTO \(table) VALUES (2)") }
            }
            #expect(autocommit.isReadOnlyTransaction)
        }
        // Give a wrongly started eviction the time to show.
        usleep(200_000)
        let metrics = manager.metrics()
        #expect(metrics.generation == 0)
        #expect(metrics.invalidations == 0)
        #expect(metrics.connectionsCreated == 4)
        #expect(!manager.snapshot().events.contains(where: Self.isDemotionEvent))
        #expect(try server.backendPIDs(applicationName: manager.configuration.effectiveApplicationName) == pids)
    }

    @Test func aReadOnlyErrorFromAStandbyStillReplacesTheConnections() throws {
        let cluster = try LocalCluster.start(.init(withStandby: true))
        defer { cluster.stop() }
        let standby = try #require(cluster.standby)
        // The manager believes it talks to a primary, but the server behind the URL is a standby.
        let manager = try ManagerTests.manager("rostandby", url: standby.url) {
            $0.poolSize = 2
            $0.maxOverflow = 0
        }
        defer { manager.shutdown() }
        let error = try #require(throws: PostgresError.self) {
            try manager.withConnection { try $0.execute("CREATE TABLE it_ro_standby (id int)") }
        }
        #expect(error.isReadOnlyTransaction)
        #expect(
            ManagerTests.eventually { manager.metrics().generation > 0 },
            "events: \(manager.snapshot().events.map(\.message))")
        #expect(manager.snapshot().events.contains(where: Self.isDemotionEvent))
    }
}
