import Testing

@testable import ConnectionManager

@Suite("DatabaseURL")
struct DatabaseURLTests {
    struct MaskCase: Sendable, CustomStringConvertible {
        let input: String
        let masked: String
        var description: String { masked }
    }

    @Test(arguments: [
        MaskCase(
            input: "postgresql://alice:s3cret@db.example.com:6543/app",
            masked: "postgresql://alice:***@db.example.com:6543/app"),
        MaskCase(
            input: "postgres://alice:s3cret@db/app?sslmode=require",
            masked: "postgres://alice:***@db/app?sslmode=require"),
        MaskCase(
            input: "postgresql://alice@db/app?password=s3cret&sslmode=disable",
            masked: "postgresql://alice@db/app?password=***&sslmode=disable"),
        MaskCase(
            input: "postgresql://db/app?sslmode=disable&password=s3cret",
            masked: "postgresql://db/app?sslmode=disable&password=***"),
        MaskCase(input: "postgresql://alice:p%40ss@db/app", masked: "postgresql://alice:***@db/app"),
        MaskCase(input: "postgresql://alice@db/app", masked: "postgresql://alice@db/app"),
        MaskCase(input: "postgresql://", masked: "postgresql://"),
        MaskCase(
            input: "host=db user=alice password=s3cret dbname=app",
            masked: "host=db user=alice password=*** dbname=app"),
        MaskCase(input: "host=db password='s 3 cret' dbname=app", masked: "host=db password=*** dbname=app"),
        MaskCase(input: "host=db password = s3cret", masked: "host=db password = ***"),
        MaskCase(input: "host=db password='it\\'s' port=5433", masked: "host=db password=*** port=5433"),
        MaskCase(input: "dbname=postgresql://alice:s3cret@db/app", masked: "dbname=postgresql://alice:***@db/app"),
        MaskCase(input: "dbname='host=db password=s3cret'", masked: "dbname='host=db password=***'"),
    ])
    func masksPasswords(_ example: MaskCase) throws {
        let url = try DatabaseURL(example.input)
        #expect(url.masked == example.masked)
        #expect(url.description == example.masked)
        #expect(!"\(url)".contains("s3cret"))
        #expect(url.connectionString == example.input)
    }

    @Test func readsOptionsFromURI() throws {
        let url = try DatabaseURL("postgresql://alice:pw@db.example.com:6543/app?application_name=x")
        #expect(url.host == "db.example.com")
        #expect(url.port == 6543)
        #expect(url.database == "app")
        #expect(url.user == "alice")
        #expect(url.serverIdentity == "db.example.com:6543/app")
    }

    @Test func readsOptionsFromKeywordString() throws {
        let url = try DatabaseURL("host=10.0.0.5 port=5433 dbname='my db' user=bob sslmode=require")
        #expect(url.host == "10.0.0.5")
        #expect(url.port == 5433)
        #expect(url.database == "my db")
        #expect(url.user == "bob")
    }

    @Test func leavesDefaultsToLibPQ() throws {
        let url = try DatabaseURL("postgresql:///app")
        #expect(url.host == nil)
        #expect(url.port == nil)
        #expect(url.user == nil)
        #expect(url.database == "app")
        #expect(url.serverIdentity == "localhost:5432/app")
    }

    @Test func emptyPortIsLeftToLibPQ() throws {
        #expect(try DatabaseURL("host=db port=").port == nil)
        #expect(throws: ConfigurationError.self) { try DatabaseURL("host=db port=99999") }
    }

    @Test func multiHostTakesFirstPort() throws {
        let url = try DatabaseURL("postgresql://h1:5432,h2:5433/app?target_session_attrs=read-write")
        #expect(url.host == "h1,h2")
        #expect(url.port == 5432)
    }

    @Test(arguments: ["mysql://root:s3cret@db/app", "http://example.com", "HTTPS://x/y"])
    func rejectsUnknownScheme(_ input: String) {
        #expect {
            _ = try DatabaseURL(input, setting: "PRIMARY_URL")
        } throws: { error in
            guard case .unknownScheme(let setting, let url, _) = error as? ConfigurationError else { return false }
            return setting == "PRIMARY_URL" && !url.contains("s3cret") && !"\(error)".contains("s3cret")
        }
    }

    @Test(arguments: [
        "host=db password=s3cret garbage",
        "postgresql://alice:s3cret@db/app?nonsense=1",
        "postgresql://alice:s3cret@db:notaport/app",
        "host='unterminated password=s3cret",
        "host=db passwd=s3cret",
        "just some words",
    ])
    func rejectsWhatLibPQRejects(_ input: String) {
        #expect {
            _ = try DatabaseURL(input)
        } throws: { error in
            guard case .invalidURL(let setting, let url, let reason) = error as? ConfigurationError else {
                return false
            }
            return setting == "DATABASE_URL" && !url.contains("s3cret") && !reason.isEmpty
                && !"\(error)".contains("s3cret")
        }
    }

    @Test func rejectsEmptyString() {
        #expect(throws: ConfigurationError.missingURL(setting: "DATABASE_URL")) { _ = try DatabaseURL("  ") }
    }

    @Test(arguments: ["host=db password s3cret", "host=db passwd=s3cret", "postgresql://u@db/app?passwd=s3cret"])
    func malformedPasswordsAreMaskedToo(_ input: String) {
        #expect {
            _ = try DatabaseURL(input)
        } throws: { error in
            !"\(error)".contains("s3cret")
        }
    }

    /// Regression (issue 10, bad input 3): PQconninfoParse accepts any option value, so `sslmode=bogus` passed and
    /// showed up as an unreachable ("UNHEALTHY", exit 1) server, and `connect_timeout=abc` was ignored.
    @Test(arguments: [
        ("host=db sslmode=bogus", "sslmode", "verify-full"),
        ("postgresql://u:s3cret@db/app?target_session_attrs=bogus", "target_session_attrs", "prefer-standby"),
        ("host=db gssencmode=bogus", "gssencmode", "require"),
        ("postgresql://db/app?channel_binding=bogus", "channel_binding", "prefer"),
        ("host=db keepalives=abc", "keepalives", "whole number"),
        ("postgresql://db/app?connect_timeout=abc", "connect_timeout", "whole number of seconds"),
        ("host=db connect_timeout=-5", "connect_timeout", "0 or more"),
        ("host=db sslmode=REQUIRE", "sslmode", "disable"),
    ])
    func refusesOptionValuesLibPQRefusesWhenConnecting(_ input: String, option: String, expected: String) {
        #expect {
            _ = try DatabaseURL(input, setting: "--url")
        } throws: { error in
            guard case .invalidOption(let setting, let named, _, let accepted) = error as? ConfigurationError else {
                return false
            }
            let text = "\(error)"
            return setting == "--url" && named == option && accepted.contains(expected) && text.contains("--url")
                && text.contains(option) && text.contains(expected) && !text.contains("s3cret")
        }
    }

    @Test(arguments: [
        "host=db sslmode=verify-full target_session_attrs=read-write gssencmode=disable channel_binding=prefer",
        "postgresql://db/app?keepalives=1&keepalives_idle=30&connect_timeout=10&tcp_user_timeout=500",
        "host=db connect_timeout=' 10 '",
        "postgresql://db/app?ssl=true",
        "host=db sslmode=",
    ])
    func acceptsTheValuesLibPQAccepts(_ input: String) throws {
        #expect(try DatabaseURL(input).host == "db")
    }

    @Test func theEnvironmentNamesItsVariable() {
        #expect {
            _ = try ConnectionPoolConfig.fromEnvironment([
                "DATABASE_URL": "host=db", "DATABASE_FAILOVER_URLS": "host=db2 sslmode=bogus",
            ])
        } throws: { error in
            guard case .invalidOption("DATABASE_FAILOVER_URLS", "sslmode", "bogus", _) = error as? ConfigurationError
            else { return false }
            return true
        }
    }

    @Test func equalityIsOnTheRawString() throws {
        let a = try DatabaseURL("postgresql://u:one@db/app")
        let b = try DatabaseURL("postgresql://u:two@db/app")
        #expect(a != b)
        #expect(a.masked == b.masked)
        #expect(a.serverIdentity == b.serverIdentity)
        #expect(Set([a, a, b]).count == 2)
    }
}
