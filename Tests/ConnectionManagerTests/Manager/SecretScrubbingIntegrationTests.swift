import Foundation
import LocalCluster
import Testing

@testable import ConnectionManager

/// Every secret the configuration holds is scrubbed from text that leaves the library, whatever produced
/// the text: libpq, the server (which echoes an unknown database name), or the manager itself.
@Suite("secret scrubbing, end to end in the library")
struct SecretScrubbingIntegrationTests {
    /// A keyword string whose database name is itself a connection string with a password: libpq sends it
    /// as the database name, and the server answers `database "host=x password=…" does not exist`.
    static func nestedURL() throws -> String {
        let port = try ManagerTests.sharedCluster().primary.port
        return "host=127.0.0.1 port=\(port) user=postgres dbname='host=x password=PLANTED-nested'"
    }

    @Test("a connect error quoting the server's text has the nested password scrubbed")
    func connectErrorIsScrubbed() throws {
        let url = try DatabaseURL(try Self.nestedURL())
        #expect {
            _ = try PostgresConnection.connect(to: url, deadline: .seconds(5))
        } throws: { error in
            let text = "\(error)"
            return text.contains("does not exist") && text.contains("password=***") && !text.contains("PLANTED")
        }
    }

    @Test("a server error quoting a configured password is scrubbed")
    func queryErrorIsScrubbed() throws {
        let cluster = try ManagerTests.sharedCluster()
        let url = try DatabaseURL(cluster.primary.url + "?password=PLANTED-query")
        let connection = try PostgresConnection.connect(to: url, deadline: .seconds(5))
        defer { connection.close() }
        #expect {
            _ = try connection.execute("SELECT 'PLANTED-query'::int")
        } throws: { error in
            let text = "\(error)"
            return text.contains("invalid input syntax") && !text.contains("PLANTED")
        }
    }

    @Test("health results, events and the status JSON never carry a configured password")
    func managerOutputIsScrubbed() throws {
        let manager = try ManagerTests.manager("scrub", url: try Self.nestedURL())
        defer { manager.shutdown() }
        let result = manager.checkHealthNow()
        #expect(result.healthy == false)
        #expect(result.error?.contains("does not exist") == true, "\(result.error ?? "")")
        #expect(result.error?.contains("PLANTED") == false, "\(result.error ?? "")")
        // Text the manager records from elsewhere (a listener, a failover reason) is scrubbed on the way in.
        manager.record(.info, "echo PLANTED-nested")
        let snapshot = manager.snapshot()
        #expect(snapshot.events.contains { $0.message == "echo ***" })
        let json = String(decoding: try manager.healthStatus().jsonData(), as: UTF8.self)
        #expect(!json.contains("PLANTED"), "\(json)")
        let snapshotJSON = String(decoding: try ControlJSON.encoder(pretty: false).encode(snapshot), as: UTF8.self)
        #expect(!snapshotJSON.contains("PLANTED"))
    }
}
