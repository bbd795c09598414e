import Foundation
import LocalCluster
import Testing

@testable import ConnectionManager

/// A commit that did not commit must say so (issue 9, finding 1): COMMIT of a transaction in which a statement
/// failed answers with the command tag `ROLLBACK` and no error, so checking for an error is not enough.
@Suite("Commit")
struct CommitTests {
    let server: ServerView
    let table: String

    init() throws {
        server = try ServerView(try ManagerTests.sharedCluster().primary.url)
        table = "it_commit_\(UInt32.random(in: 0...UInt32.max))"
        try server.execute("CREATE TABLE \(table) (id int PRIMARY KEY)")
    }

    func rows() throws -> [Int] {
        try server.execute("SELECT id FROM \(table) ORDER BY id").rows.map { try $0.int(0) ?? -1 }
    }

    func dropTable() {
        _ = try? server.execute("DROP TABLE \(table)")
    }

    /// The connection came back usable and outside any transaction, and the pool did not lose it.
    func expectCleanPool(_ manager: ConnectionManager) throws {
        #expect(manager.metrics().checkedOut == 0)
        let (status, one) = try manager.withConnection { connection in
            (connection.connection.transactionStatus, try connection.execute("SELECT 1")[row: 0].int(0))
        }
        #expect(status == .idle)
        #expect(one == 1)
        #expect(manager.metrics().connectionsCreated == 1)
    }

    @Test func withSessionThrowsWhenAnIgnoredErrorRolledTheTransactionBack() throws {
        defer { dropTable() }
        let manager = try ManagerTests.manager("cwith") { $0.poolSize = 1 }
        defer { manager.shutdown() }
        #expect(throws: SessionError.commitRolledBack) {
            try manager.withSession { session in
                try session.execute("INSERT INTO \(table) VALUES (1)")
                _ = try? session.execute("SELECT 1/0")
            }
        }
        #expect(try rows() == [])
        try expectCleanPool(manager)
    }

    @Test func asyncWithSessionThrowsWhenAnIgnoredErrorRolledTheTransactionBack() async throws {
        defer { dropTable() }
        let manager = try ManagerTests.manager("casync") { $0.poolSize = 1 }
        defer { manager.shutdown() }
        let table = self.table
        await #expect(throws: SessionError.commitRolledBack) {
            try await manager.withSession { session in
                try await session.execute("INSERT INTO \(table) VALUES (1)")
                _ = try? await session.execute("SELECT 1/0")
            }
        }
        #expect(try rows() == [])
        try expectCleanPool(manager)
    }

    @Test func sessionCommitThrowsAndTheSessionGoesOn() throws {
        defer { dropTable() }
        let manager = try ManagerTests.manager("cmanual") { $0.poolSize = 1 }
        defer { manager.shutdown() }
        let session = try manager.session()
        try session.execute("INSERT INTO \(table) VALUES (1)")
        _ = try? session.execute("SELECT 1/0")
        #expect(throws: SessionError.commitRolledBack) { try session.commit() }
        // The session is usable again: the next statement starts a new transaction that commits.
        try session.execute("INSERT INTO \(table) VALUES (2)")
        try session.commit()
        session.close()
        #expect(try rows() == [2])
        try expectCleanPool(manager)
    }

    @Test func asyncSessionCommitThrows() async throws {
        defer { dropTable() }
        let manager = try ManagerTests.manager("cmanualasync") { $0.poolSize = 1 }
        defer { manager.shutdown() }
        let session = try manager.session()
        try await session.execute("INSERT INTO \(table) VALUES (3)")
        _ = try? await session.execute("SELECT no_such_column FROM \(table)")
        await #expect(throws: SessionError.commitRolledBack) { try await session.commit() }
        try await session.execute("INSERT INTO \(table) VALUES (4)")
        try await session.commit()
        session.close()
        #expect(try rows() == [4])
        try expectCleanPool(manager)
    }

    @Test func databaseManagerFacadeThrowsToo() throws {
        defer { dropTable() }
        var config = try ManagerTests.configuration(
            try ManagerTests.sharedCluster().primary.url, applicationName: ManagerTests.applicationName("cfacade")
        ) { $0.poolSize = 1 }
        config.healthCheckEnabled = false
        let database = try DatabaseManager(configuration: config)
        defer { database.shutdown() }
        #expect(throws: SessionError.commitRolledBack) {
            try database.withSession { session in
                try session.execute("INSERT INTO \(table) VALUES (1)")
                _ = try? session.execute("SELECT 1/0")
            }
        }
        let session = try database.session()
        try session.execute("INSERT INTO \(table) VALUES (2)")
        _ = try? session.execute("SELECT 1/0")
        #expect(throws: SessionError.commitRolledBack) { try session.commit() }
        session.close()
        #expect(try rows() == [])
    }

    @Test(arguments: ["COMMIT", "END", "commit work", "  /* done */ End transaction;"])
    func aCommitSentAsSQLThatRolledBackThrows(_ commit: String) throws {
        defer { dropTable() }
        let manager = try ManagerTests.manager("csql") { $0.poolSize = 1 }
        defer { manager.shutdown() }
        // Through a session.
        let session = try manager.session()
        try session.execute("INSERT INTO \(table) VALUES (1)")
        _ = try? session.execute("SELECT 1/0")
        #expect(throws: SessionError.commitRolledBack) { try session.execute(commit) }
        session.close()
        // Through an autocommit connection with a transaction of the caller's own.
        try manager.withConnection { connection in
            try connection.execute("BEGIN")
            try connection.execute("INSERT INTO \(table) VALUES (2)")
            _ = try? connection.execute("SELECT 1/0")
            #expect(throws: SessionError.commitRolledBack) { try connection.execute(commit) }
            #expect(connection.connection.transactionStatus == .idle)
        }
        #expect(try rows() == [])
        // A ROLLBACK the caller asked for is not an error, and a commit that commits is not either.
        try manager.withConnection { connection in
            try connection.execute("BEGIN")
            _ = try? connection.execute("SELECT 1/0")
            #expect(try connection.execute("ROLLBACK").commandTag == "ROLLBACK")
            try connection.execute("BEGIN")
            try connection.execute("INSERT INTO \(table) VALUES (3)")
            #expect(try connection.execute(commit).commandTag == "COMMIT")
        }
        #expect(try rows() == [3])
        try expectCleanPool(manager)
    }

    @Test func aSessionWhoseCallerCommittedItselfStillRunsInATransaction() throws {
        defer { dropTable() }
        let manager = try ManagerTests.manager("cself") { $0.poolSize = 1 }
        defer { manager.shutdown() }
        #expect(throws: ExpectedFailure()) {
            try manager.withSession { session in
                try session.execute("INSERT INTO \(table) VALUES (1)")
                try session.execute("COMMIT")
                // After the caller's own COMMIT the next statement must not run in autocommit mode: it belongs to
                // a transaction that the failure below rolls back.
                try session.execute("INSERT INTO \(table) VALUES (2)")
                throw ExpectedFailure()
            }
        }
        #expect(try rows() == [1])
        try expectCleanPool(manager)
    }
}
