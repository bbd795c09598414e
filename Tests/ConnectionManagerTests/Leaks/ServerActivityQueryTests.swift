import ConnectionManager
import Foundation
import Testing

@Suite("ServerActivityQuery")
struct LeaksServerActivityQueryTests {
    @Test func mapsATextRow() {
        let row: [String?] = [
            "4711", "idle in transaction", "1700000000.25", "1700000001", nil, "UPDATE t SET x = 1", "Client",
            "ClientRead", "worker",
        ]
        #expect(
            ServerActivityQuery.activity(row: row)
                == ServerActivity(
                    pid: 4711, state: "idle in transaction", xactStart: Date(timeIntervalSince1970: 1_700_000_000.25),
                    queryStart: Date(timeIntervalSince1970: 1_700_000_001), stateChange: nil,
                    query: "UPDATE t SET x = 1", waitEventType: "Client", waitEvent: "ClientRead",
                    applicationName: "worker"))
    }

    @Test func rejectsMalformedRows() {
        #expect(ServerActivityQuery.activity(row: ["4711"]) == nil)
        #expect(ServerActivityQuery.activity(row: [nil, nil, nil, nil, nil, nil, nil, nil, nil]) == nil)
        #expect(ServerActivityQuery.activity(row: ["x", nil, nil, nil, nil, nil, nil, nil, nil]) == nil)
    }

    @Test func parameterIsAnArrayLiteral() {
        #expect(ServerActivityQuery.parameter(pids: [4711, 4712]) == "{4711,4712}")
        #expect(ServerActivityQuery.parameter(pids: []) == "{}")
        #expect(ServerActivityQuery.sql.contains("pg_stat_activity"))
        #expect(ServerActivityQuery.sql.contains("$1::int[]"))
    }
}
