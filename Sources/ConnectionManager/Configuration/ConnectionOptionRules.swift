/// The values libpq accepts for the connection options it checks only when connecting.
///
/// `PQconninfoParse` accepts any value for `sslmode`, `target_session_attrs`, `connect_timeout`, ...; libpq
/// refuses a wrong one only at connect time (reported as an unreachable, "unhealthy" server) or, for some
/// versions, ignores it. ``DatabaseURL`` checks the options written in a string against this table up front,
/// so that a typo is a configuration error naming the option and what it takes.
///
/// Values are compared as libpq compares them: case-sensitively. An empty value is left to libpq.
enum ConnectionOptionRules {
    /// What one option takes.
    enum Rule: Sendable, Equatable {
        /// One of these words.
        case oneOf([String])
        /// A whole number, 0 or more (libpq: an optional sign and digits, spaces around allowed).
        case nonNegativeInteger(unit: String?)

        /// True when libpq would accept `value` for this option.
        func accepts(_ value: String) -> Bool {
            switch self {
            case .oneOf(let words):
                return words.contains(value)
            case .nonNegativeInteger:
                var text = Substring(value).drop { $0 == " " || $0 == "\t" }
                while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
                if text.first == "+" { text = text.dropFirst() }
                return !text.isEmpty && text.count <= 9 && text.allSatisfy { $0.isASCII && $0.isNumber }
            }
        }

        /// The accepted values, for an error message.
        var expected: String {
            switch self {
            case .oneOf(let words):
                return "one of " + words.joined(separator: ", ")
            case .nonNegativeInteger(let unit):
                return "a whole number" + (unit.map { " of \($0)" } ?? "") + ", 0 or more"
            }
        }
    }

    /// Option keyword → what it takes (libpq's documented values, "Parameter Key Words").
    static let rules: [String: Rule] = [
        "sslmode": .oneOf(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]),
        "gssencmode": .oneOf(["disable", "prefer", "require"]),
        "channel_binding": .oneOf(["disable", "prefer", "require"]),
        "target_session_attrs": .oneOf(["any", "read-write", "read-only", "primary", "standby", "prefer-standby"]),
        "load_balance_hosts": .oneOf(["disable", "random"]),
        "sslcertmode": .oneOf(["disable", "allow", "require"]),
        "sslnegotiation": .oneOf(["postgres", "direct"]),
        "sslcompression": .oneOf(["0", "1"]),
        "ssl_min_protocol_version": .oneOf(["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]),
        "ssl_max_protocol_version": .oneOf(["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]),
        "connect_timeout": .nonNegativeInteger(unit: "seconds"),
        "keepalives": .nonNegativeInteger(unit: nil),
        "keepalives_idle": .nonNegativeInteger(unit: "seconds"),
        "keepalives_interval": .nonNegativeInteger(unit: "seconds"),
        "keepalives_count": .nonNegativeInteger(unit: nil),
        "tcp_user_timeout": .nonNegativeInteger(unit: "milliseconds"),
    ]

    /// The first option in `options` (parsed by libpq) whose value libpq would refuse, in keyword order.
    static func firstInvalid(in options: [String: String]) -> (option: String, value: String, expected: String)? {
        for (option, value) in options.sorted(by: { $0.key < $1.key }) where !value.isEmpty {
            if let rule = rules[option], !rule.accepts(value) {
                return (option, value, rule.expected)
            }
        }
        return nil
    }
}
