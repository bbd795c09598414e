import Testing

@testable import ConnectionManager

/// Passwords the mask did not recognise (issue 9.4c): misspelled keys, unencoded delimiters, nested dbname.
@Suite("secret scrubbing")
struct SecretScrubberTests {
    struct Case: Sendable, CustomStringConvertible {
        let input: String
        let masked: String
        var description: String { input }
    }

    @Test(arguments: [
        Case(input: "postgresql://u@db/app?pasword=PLANTED", masked: "postgresql://u@db/app?pasword=***"),
        Case(input: "postgresql://u@db/app?PassWrd=PLANTED", masked: "postgresql://u@db/app?PassWrd=***"),
        Case(input: "postgresql://u@db/app?pwd=PLANTED&x=1", masked: "postgresql://u@db/app?pwd=***&x=1"),
        Case(input: "host=db pasword=PLANTED dbname=app", masked: "host=db pasword=*** dbname=app"),
        Case(input: "host=db sslpassword=PLANTED", masked: "host=db sslpassword=***"),
        Case(input: "host=db pssword='PLANTED x'", masked: "host=db pssword=***"),
        Case(input: "postgresql://u:a/PLANTED@h/d", masked: "postgresql://u:***@h/d"),
        Case(input: "postgresql://u:PLANTED@x@h/d", masked: "postgresql://u:***@h/d"),
        Case(
            input: "postgresql://u@h/d?dbname=host%3Dx%20password%3DPLANTED",
            masked: "postgresql://u@h/d?dbname=***"),
        Case(input: "postgresql://u@h/host%3Dx%20password%3DPLANTED", masked: "postgresql://u@h/***"),
        Case(
            input: "host=h dbname='host=x password=\\'PLANTED\\''", masked: "host=h dbname='***'"),
    ])
    func masksWhatLooksLikeAPassword(_ example: Case) {
        let mask = ConnectionStringMask(example.input)
        #expect(mask.masked == example.masked)
        #expect(mask.secrets.contains { $0.contains("PLANTED") })
        #expect(!mask.hidingSecrets(in: "echo: \(example.input)").contains("PLANTED"))
    }

    @Test("keys that are not passwords stay readable", arguments: ["passfile", "port", "user", "sslmode", "host"])
    func otherKeys(_ key: String) {
        #expect(!ConnectionStringMask.isPasswordKey(key))
    }

    @Test(
        "an unencoded / or @ in the password is refused with advice, never echoed",
        arguments: ["postgresql://u:a/PLANTED@h/d", "postgresql://u:PLANTED/x@h:5432/d", "postgresql://u:PLA@NTED@h/d"])
    func unencodedDelimiter(_ input: String) {
        #expect {
            _ = try DatabaseURL(input, setting: "--url")
        } throws: { error in
            let text = "\(error)"
            return text.contains("--url") && text.contains("%2F") && !text.contains("PLANTED") && !text.contains("NTED")
        }
    }

    @Test("a port number before a / is a port, not a password: the database name may hold an @")
    func portIsNotAPassword() throws {
        let url = try DatabaseURL("postgresql://db:5432/odd@name")
        #expect(url.port == 5432)
        #expect(url.masked == "postgresql://db:5432/odd@name")
    }

    @Test("the scrubber replaces every form of every configured password, longest first")
    func scrubsAllForms() throws {
        let urls = [
            try DatabaseURL("postgresql://u:p%40ss%2Fw0rd@h1/d"),
            try DatabaseURL("host=h2 dbname='host=x password=nested-PLANTED'"),
            try DatabaseURL("host=h3 password='it\\'s-PLANTED'"),
        ]
        let scrubber = SecretScrubber(urls)
        let text = """
            p%40ss%2Fw0rd p@ss/w0rd database "host=x password=nested-PLANTED" does not exist; it's-PLANTED
            """
        let scrubbed = scrubber.scrub(text)
        #expect(!scrubbed.contains("PLANTED"))
        #expect(!scrubbed.contains("p@ss/w0rd"))
        #expect(!scrubbed.contains("p%40ss"))
        #expect(scrubbed.contains("database \"host=x password=***\" does not exist"))
        #expect(SecretScrubber([try DatabaseURL("postgresql://u@h/d")]).isEmpty)
    }

    @Test("one- and two-character passwords are masked in URLs but not searched for in text")
    func shortPasswords() throws {
        let url = try DatabaseURL("postgresql://u:ab@h/d")
        #expect(url.masked == "postgresql://u:***@h/d")
        #expect(SecretScrubber([url]).scrub("about abc") == "about abc")
    }

    @Test("secretRanges finds the bytes to blank in place")
    func secretRanges() {
        let bytes = Array("postgresql://u:PLANTED@h/d?password=two".utf8)
        let ranges = DatabaseURL.secretRanges(in: bytes)
        #expect(ranges.map { String(decoding: bytes[$0], as: UTF8.self) } == ["PLANTED", "two"])
    }
}
