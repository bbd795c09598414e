import Testing

@testable import ConnectionManager

/// `DATABASE_FAILOVER_URLS` is comma-separated, but a comma inside a target (a multi-host URI, `host=a,b`) is
/// part of it (issue 10.4): a comma separates targets only where the next one starts.
@Suite("failover URL list")
struct FailoverListTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let text: String
        let targets: [String]
        var testDescription: String { text }
    }

    @Test(arguments: [
        Case(text: "postgresql://u@h1/d", targets: ["postgresql://u@h1/d"]),
        Case(
            text: "postgresql://u@h1/d, postgres://u@h2:6000/d",
            targets: ["postgresql://u@h1/d", "postgres://u@h2:6000/d"]),
        Case(text: "postgresql://u@h1:1,h2:2/d", targets: ["postgresql://u@h1:1,h2:2/d"]),
        Case(
            text: "postgresql://u@h1:1,h2:2/d,postgresql://u@h3:3,h4:4/d?target_session_attrs=read-write",
            targets: ["postgresql://u@h1:1,h2:2/d", "postgresql://u@h3:3,h4:4/d?target_session_attrs=read-write"]),
        Case(text: "host=h1,h2 port=1,2 dbname=d", targets: ["host=h1,h2 port=1,2 dbname=d"]),
        Case(
            text: "host=h1,h2 port=1,2,host=h3 dbname=d,POSTGRESQL://u@h4/d",
            targets: ["host=h1,h2 port=1,2", "host=h3 dbname=d", "POSTGRESQL://u@h4/d"]),
        Case(text: "postgresql://u:p,w@h1/d", targets: ["postgresql://u:p,w@h1/d"]),
        Case(text: " , postgresql://u@h1/d ,", targets: ["postgresql://u@h1/d"]),
    ])
    func splits(_ example: Case) {
        #expect(ConnectionPoolConfig.failoverTargets(in: example.text) == example.targets)
    }

    @Test("a multi-host failover URL is accepted from the environment")
    func multiHostFromEnvironment() throws {
        let config = try ConnectionPoolConfig.fromEnvironment([
            "DATABASE_URL": "postgresql://u@h0/d",
            "DATABASE_FAILOVER_URLS": "postgresql://u@h1:1,h2:2/d,host=h3 dbname=d",
        ])
        #expect(config.failoverURLs.map(\.host) == ["h1,h2", "h3"])
        #expect(config.failoverEnabled)
    }
}
