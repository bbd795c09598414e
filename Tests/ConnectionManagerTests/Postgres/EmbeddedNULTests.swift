import Foundation
import Testing

@testable import ConnectionManager

/// A NUL byte cannot reach PostgreSQL intact: libpq takes C strings and would cut the text there (issue 9,
/// finding 5). It must be refused before anything is sent, never truncated.
@Suite("EmbeddedNUL")
struct EmbeddedNULTests {
    let url: DatabaseURL

    init() throws {
        url = try TestServer.sharedURL()
    }

    @Test func aParameterWithANULIsRejectedNotTruncated() throws {
        let connection = try PostgresConnection.connect(to: url, deadline: .seconds(10))
        defer { connection.close() }
        let table = "it_nul_\(UInt32.random(in: 0...UInt32.max))"
        _ = try connection.execute("CREATE TEMP TABLE \(table) (note text)")
        let error = try #require(throws: PostgresError.self) {
            try connection.execute("INSERT INTO \(table) VALUES ($1), ($2)", ["fine", "abc\0def"])
        }
        #expect(error == .embeddedNUL(parameter: 2, offset: 3, sqlPrefix: nil))
        #expect("\(error)".contains("Parameter $2"))
        #expect("\(error)".contains("Nothing was sent"))
        #expect(!error.isConnectionLevel)
        // Nothing reached the server, and the connection is still usable.
        #expect(try connection.execute("SELECT count(*) FROM \(table)")[row: 0].int(0) == 0)
        #expect(connection.transactionStatus == .idle)
    }

    @Test func sqlTextWithANULIsRejectedNotTruncated() throws {
        let connection = try PostgresConnection.connect(to: url, deadline: .seconds(10))
        defer { connection.close() }
        let table = "it_nul_\(UInt32.random(in: 0...UInt32.max))"
        _ = try connection.execute("CREATE TEMP TABLE \(table) (id int)")
        // Truncated at the NUL, this would be a valid statement that inserts one row instead of three.
        for parameters in [[], [PostgresValue.int(9)]] {
            let error = try #require(throws: PostgresError.self) {
                try connection.execute("INSERT INTO \(table) VALUES (1)\0, (2), (3)", parameters)
            }
            guard case .embeddedNUL(nil, let offset, let prefix) = error else {
                Issue.record("expected embeddedNUL for the SQL text, got \(error)")
                continue
            }
            #expect(offset == "INSERT INTO \(table) VALUES (1)".utf8.count)
            #expect(prefix == "INSERT INTO \(table) VALUES (1)")
            #expect("\(error)".contains("SQL text contains a NUL"))
        }
        #expect(try connection.execute("SELECT count(*) FROM \(table)")[row: 0].int(0) == 0)
    }

    @Test func throughTheManagerToo() throws {
        let manager = try ManagerTests.manager("nul") { $0.poolSize = 1 }
        defer { manager.shutdown() }
        #expect(throws: PostgresError.embeddedNUL(parameter: 1, offset: 1, sqlPrefix: nil)) {
            try manager.withSession { try $0.execute("SELECT $1::text", ["a\0"]) }
        }
        #expect(throws: PostgresError.embeddedNUL(parameter: nil, offset: 8, sqlPrefix: "SELECT 1")) {
            try manager.withConnection { try $0.execute("SELECT 1\0; DROP TABLE x") }
        }
        #expect(manager.metrics().connectionsCreated == 1)
        #expect(manager.metrics().invalidations == 0)
    }
}
