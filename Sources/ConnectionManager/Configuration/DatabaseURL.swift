/// A PostgreSQL connection string, validated by libpq, that prints with its password masked.
///
/// Accepts everything libpq accepts: `postgresql://` and `postgres://` URIs and keyword/value strings such as
/// `host=db1 dbname=app sslmode=require`. Options left out keep libpq's usual fallbacks (`PGHOST`, `PGPASSWORD`,
/// `.pgpass`, ...), because the string is handed to libpq unchanged.
///
/// `description` and `masked` replace the password with `***`; the raw string stays internal.
public struct DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    /// The string as given, passed to libpq. Never print or log it: it may hold a password.
    let connectionString: String
    /// The connection string with any password replaced by `***`; safe to print and log.
    public let masked: String
    /// The host (or comma-separated hosts, or socket directory) written in the string; nil when left to libpq.
    public let host: String?
    /// The port written in the string (the first one of a multi-host list); nil when left to libpq (`PGPORT`, 5432).
    public let port: Int?
    /// The database name (`dbname`) written in the string; nil when left to libpq (defaults to the user name).
    public let database: String?
    /// The user name written in the string; nil when left to libpq (`PGUSER`, then the operating system user).
    public let user: String?

    /// Parses and validates `string` with libpq.
    ///
    /// - Parameters:
    ///   - string: A `postgresql://` / `postgres://` URI or a libpq keyword/value string.
    ///   - setting: The name of the setting the string came from, used in error messages.
    /// - Throws: `.missingURL` for an empty string, `.unknownScheme` for another scheme (`mysql://`),
    ///   `.invalidURL` with libpq's reason (passwords masked) for anything libpq refuses.
    public init(_ string: String, setting: String = "DATABASE_URL") throws(ConfigurationError) {
        guard string.contains(where: { !$0.isWhitespace }) else { throw .missingURL(setting: setting) }
        let masking = ConnectionStringMask(string)
        if let scheme = ConnectionStringMask.scheme(of: string), scheme != "postgresql", scheme != "postgres" {
            throw .unknownScheme(setting: setting, url: masking.masked, scheme: scheme)
        }
        switch LibPQ.parseConnectionString(string) {
        case .failed(let reason):
            throw .invalidURL(setting: setting, url: masking.masked, reason: masking.hidingSecrets(in: reason))
        case .parsed(let options):
            connectionString = string
            masked = masking.masked
            host = options["host"] ?? options["hostaddr"]
            database = options["dbname"]
            user = options["user"]
            let firstPort = options["port"].map {
                String($0.split(separator: ",", omittingEmptySubsequences: false)[0])
            }
            if let text = options["port"], let first = firstPort, !first.isEmpty {
                guard let number = Int(first), (1...65535).contains(number) else {
                    throw .invalidURL(setting: setting, url: masking.masked, reason: "invalid port number: \"\(text)\"")
                }
                port = number
            } else {
                port = nil
            }
        }
    }

    /// `host:port/database` with libpq's defaults filled in, to spot two URLs that reach the same server.
    public var serverIdentity: String {
        "\(host ?? "localhost"):\(port ?? 5432)/\(database ?? user ?? "")"
    }

    /// The masked connection string.
    public var description: String { masked }

    public static func == (lhs: DatabaseURL, rhs: DatabaseURL) -> Bool { lhs.connectionString == rhs.connectionString }

    public func hash(into hasher: inout Hasher) { hasher.combine(connectionString) }
}

/// Finds the passwords in a connection string the way libpq tokenizes it, and masks them.
///
/// Works on strings libpq would refuse too, so that error messages never show a password.
struct ConnectionStringMask {
    /// The string with every password value replaced by `***`.
    private(set) var masked: String
    /// The raw (and percent-decoded) password texts found, to scrub them from libpq's messages.
    private(set) var secrets: [String] = []

    init(_ string: String) {
        masked = string
        let bytes = Array(string.utf8)
        let spans: [Range<Int>]
        if Self.scheme(of: string) != nil {
            spans = Self.uriPasswordSpans(bytes)
        } else {
            spans = Self.keywordPasswordSpans(bytes)
        }
        guard !spans.isEmpty else { return }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var position = 0
        for span in spans.sorted(by: { $0.lowerBound < $1.lowerBound }) where span.lowerBound >= position {
            output += bytes[position..<span.lowerBound]
            output += Array("***".utf8)
            let secret = String(decoding: bytes[span], as: UTF8.self)
            secrets.append(secret)
            if let decoded = secret.removingPercentEncodingIfValid, decoded != secret { secrets.append(decoded) }
            position = span.upperBound
        }
        output += bytes[position...]
        masked = String(decoding: output, as: UTF8.self)
    }

    /// The URI scheme (lower-cased) when the string starts with `letters://`, nil for a keyword/value string.
    static func scheme(of string: String) -> String? {
        guard let range = string.firstRange(of: "://") else { return nil }
        let candidate = string[string.startIndex..<range.lowerBound]
        guard let first = candidate.first, first.isASCII, first.isLetter,
            candidate.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) })
        else { return nil }
        return candidate.lowercased()
    }

    /// `message` with every password found in the connection string replaced by `***`.
    func hidingSecrets(in message: String) -> String {
        var result = message
        for secret in secrets.sorted(by: { $0.count > $1.count }) where !secret.isEmpty {
            result = result.replacingAll(secret, with: "***")
        }
        return result
    }

    /// `password`, and misspellings of it (`passwd`, `PASSWORD`) that libpq will refuse but a log must not show.
    private static func isPasswordKey(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return lowered.contains("pass") && lowered != "passfile"
    }

    /// Password spans of a URI: `user:PASSWORD@` before the first `/`, and `password=PASSWORD` query parameters.
    private static func uriPasswordSpans(_ bytes: [UInt8]) -> [Range<Int>] {
        var spans: [Range<Int>] = []
        guard let schemeEnd = bytes.firstRange(of: Array("://".utf8))?.upperBound else { return spans }
        // Like libpq: user information ends at the first '@' seen before any '/'.
        var index = schemeEnd
        while index < bytes.count, bytes[index] != UInt8(ascii: "@"), bytes[index] != UInt8(ascii: "/") { index += 1 }
        if index < bytes.count, bytes[index] == UInt8(ascii: "@"),
            let colon = bytes[schemeEnd..<index].firstIndex(of: UInt8(ascii: ":")), colon + 1 < index
        {
            spans.append((colon + 1)..<index)
        }
        let queryStart = index < bytes.count ? index : schemeEnd
        guard let question = bytes[queryStart...].firstIndex(of: UInt8(ascii: "?")) else { return spans }
        var start = question + 1
        while start <= bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.count
            if let equals = bytes[start..<end].firstIndex(of: UInt8(ascii: "=")) {
                let key = String(decoding: bytes[start..<equals], as: UTF8.self)
                if isPasswordKey(key.removingPercentEncodingIfValid ?? key), equals + 1 < end {
                    spans.append((equals + 1)..<end)
                }
            }
            start = end + 1
        }
        return spans
    }

    /// Password spans of a keyword/value string, tokenized like libpq's `conninfo_parse` (quotes, backslashes).
    /// A `dbname` value that is itself a connection string is searched too.
    private static func keywordPasswordSpans(_ bytes: [UInt8]) -> [Range<Int>] {
        var spans: [Range<Int>] = []
        var index = 0
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
        while index < bytes.count {
            while index < bytes.count, isSpace(bytes[index]) { index += 1 }
            let keyStart = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "="), !isSpace(bytes[index]) { index += 1 }
            let key = String(decoding: bytes[keyStart..<index], as: UTF8.self)
            while index < bytes.count, isSpace(bytes[index]) { index += 1 }
            guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else {
                // libpq will refuse the string and may quote what follows: hide all of it.
                if keyStart < bytes.count { spans.append(keyStart..<bytes.count) }
                break
            }
            index += 1
            while index < bytes.count, isSpace(bytes[index]) { index += 1 }
            let valueStart = index
            if index < bytes.count, bytes[index] == UInt8(ascii: "'") {
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "'") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                guard index < bytes.count else {
                    // Unterminated quote: libpq refuses the string; whatever follows may be a password.
                    spans.append(valueStart..<bytes.count)
                    break
                }
                index += 1
            } else {
                while index < bytes.count, !isSpace(bytes[index]) {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                index = min(index, bytes.count)
            }
            let value = valueStart..<index
            if isPasswordKey(key), !value.isEmpty {
                spans.append(value)
            } else if key == "dbname", !value.isEmpty {
                // Nested connection string (expand_dbname): mask inside it, offsets shifted into this string.
                var inner = value
                if bytes[value.lowerBound] == UInt8(ascii: "'"), value.count >= 2 {
                    inner = (value.lowerBound + 1)..<(value.upperBound - 1)
                }
                let text = Array(bytes[inner])
                let nested =
                    text.firstRange(of: Array("://".utf8)) != nil
                    ? uriPasswordSpans(text) : (text.contains(UInt8(ascii: "=")) ? keywordPasswordSpans(text) : [])
                spans += nested.map { ($0.lowerBound + inner.lowerBound)..<($0.upperBound + inner.lowerBound) }
            }
        }
        return spans
    }
}

extension String {
    /// Percent-decodes the string; nil when an escape is malformed or the bytes are not UTF-8.
    fileprivate var removingPercentEncodingIfValid: String? {
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue)
            else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Replaces every occurrence of `target` (non-empty), without Foundation.
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}
