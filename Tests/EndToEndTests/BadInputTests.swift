import Foundation
import Testing

extension EndToEndTests {
    /// Bad values exit 2 with a message naming the flag or variable as typed and the value (issue 10.1): no trap,
    /// no hang, no 5 GB allocation. A few representative runs of the real binary; the parsers' table-driven test
    /// (`SettingBoundsTests`) covers every setting in process.
    @Suite("bad input")
    struct BadInputTests {
        struct Case: Sendable, CustomTestStringConvertible {
            let arguments: [String]
            let environment: [String: String]
            let names: String
            let value: String
            var testDescription: String {
                (environment.map { "\($0.key)=\($0.value)" } + arguments).joined(separator: " ")
            }
        }

        static let url = "postgresql://u@127.0.0.1:1/d"

        static let cases: [Case] = [
            .init(
                arguments: ["status", "--url", url, "--pool-timeout", "1e10"], environment: [:],
                names: "--pool-timeout",
                value: "1e10"),
            .init(
                arguments: ["status", "--url", url], environment: ["DB_CONNECT_TIMEOUT": "1e30"],
                names: "DB_CONNECT_TIMEOUT", value: "1e30"),
            .init(
                arguments: ["status", "--url", url, "--connect-timeout", "1e-12s"], environment: [:],
                names: "--connect-timeout", value: "1e-12s"),
            .init(
                arguments: ["status", "--url", url, "--pool-size", "9223372036854775807"], environment: [:],
                names: "--pool-size", value: "9223372036854775807"),
            .init(
                arguments: ["status", "--url", url, "--max-overflow", "10000000"], environment: [:],
                names: "--max-overflow", value: "10000000"),
            .init(
                arguments: ["--url", url, "--refresh", "1e-9"], environment: [:], names: "--refresh", value: "1e-9"),
            .init(
                arguments: ["--url", url], environment: ["POOLTOP_REFRESH": "nan"], names: "POOLTOP_REFRESH",
                value: "nan"),
            .init(arguments: ["--url", url, "--load", "100000"], environment: [:], names: "--load", value: "100000"),
            .init(arguments: ["demo", "--leak-every", "1e10"], environment: [:], names: "--leak-every", value: "1e10"),
        ]

        /// Every numeric and duration flag of the real binary against garbage, huge, tiny, NaN, negative and unicode
        /// values (issue 10: "a fuzz test of every option"); the variables are covered in process by
        /// `SettingBoundsTests`.
        static let integerFlags: [[String]] = [
            ["status", "--url", url, "--pool-size"], ["status", "--url", url, "--max-overflow"],
            ["--url", url, "--load"],
        ]
        static let durationFlags: [[String]] = [
            ["status", "--url", url, "--pool-timeout"], ["status", "--url", url, "--health-interval"],
            ["status", "--url", url, "--leak-threshold"], ["status", "--url", url, "--connect-timeout"],
            ["--url", url, "--refresh"], ["demo", "--leak-every"],
        ]
        static let badIntegers = ["abc", "nan", "-5", "５", "🙂", "1e400", "99999999999999999999", "0x10"]
        static let badDurations = ["abc", "nan", "inf", "-5", "５s", "🙂", "1e400", "1e-12s", "400d", "5 parsecs"]
        static let matrix: [Case] =
            integerFlags.flatMap { flag in
                badIntegers.map { Case(arguments: flag + [$0], environment: [:], names: flag.last!, value: $0) }
            }
            + durationFlags.flatMap { flag in
                badDurations.map { Case(arguments: flag + [$0], environment: [:], names: flag.last!, value: $0) }
            }

        @Test("every numeric and duration flag: exit 2 naming it", .timeLimit(.minutes(2)), arguments: matrix)
        func everyFlagRefusesBadValues(_ bad: Case) throws {
            try refused(bad)
        }

        @Test("exit 2 naming the setting and the value", .timeLimit(.minutes(1)), arguments: cases)
        func refused(_ bad: Case) throws {
            let result = try Subprocess.run(
                [try PooltopBinary.path()] + bad.arguments,
                environment: bad.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { a, _ in a },
                removing: ["DATABASE_URL", "DATABASE_FAILOVER_URLS"], timeout: .seconds(20))
            #expect(result.exitCode == 2, "stderr: \(result.stderr)")
            #expect(result.stderr.contains(bad.names), "stderr: \(result.stderr)")
            #expect(result.stderr.contains("'\(bad.value)'"), "stderr: \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count <= 2, "one message, no backtrace: \(result.stderr)")
        }
    }
}
