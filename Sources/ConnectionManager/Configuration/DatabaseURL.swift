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
    /// The password texts in the string (as written, decoded, unquoted), for ``SecretScrubber``.
    let secrets: [String]
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
    ///   `.invalidURL` with libpq's reason (passwords masked) for anything libpq refuses, `.invalidOption` for an
    ///   option value libpq would refuse only when connecting (`sslmode=bogus`, `connect_timeout=abc`).
    public init(_ string: String, setting: String = "DATABASE_URL") throws(ConfigurationError) {
        guard string.contains(where: { !$0.isWhitespace }) else { throw .missingURL(setting: setting) }
        let masking = ConnectionStringMask(string)
        if let scheme = ConnectionStringMask.scheme(of: string), scheme != "postgresql", scheme != "postgres" {
            throw .unknownScheme(setting: setting, url: masking.masked, scheme: scheme)
        }
        if masking.hasUnencodedDelimiter {
            throw .invalidURL(
                setting: setting, url: masking.masked,
                reason: "the user information (user:password@) holds a '/' or '@' of its own, which libpq reads as "
                    + "the end of it; percent-encode them in the password ('/' as %2F, '@' as %40, ':' as %3A)")
        }
        switch LibPQ.parseConnectionString(string) {
        case .failed(let reason):
            throw .invalidURL(setting: setting, url: masking.masked, reason: masking.hidingSecrets(in: reason))
        case .parsed(let options):
            if let bad = ConnectionOptionRules.firstInvalid(in: options) {
                throw .invalidOption(
                    setting: setting, option: bad.option, value: masking.hidingSecrets(in: bad.value),
                    expected: bad.expected)
            }
            connectionString = string
            masked = masking.masked
            secrets = masking.secrets
            host = options["host"] ?? options["hostaddr"]
            database = options["dbname"]
            user = options["user"]
            let firstPort = options["port"].map {
                String($0.split(separator: ",", omittingEmptySubsequences: false)[0])
            }
            if let text = options["port"], let first = firstPort, !first.isEmpty {
                guard let number = Int(first), (1...65535).contains(number) else {
                    throw .invalidURL(
                        setting: setting, url: masking.masked,
                        reason: masking.hidingSecrets(in: "invalid port number: \"\(text)\""))
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

    /// The byte ranges of the passwords in `bytes`, a connection string as raw bytes: what ``masked`` replaces
    /// with `***`. For blanking a password in place (a process's own arguments).
    public static func secretRanges(in bytes: [UInt8]) -> [Range<Int>] {
        ConnectionStringMask.secretRanges(bytes)
    }

    public static func == (lhs: DatabaseURL, rhs: DatabaseURL) -> Bool { lhs.connectionString == rhs.connectionString }

    public func hash(into hasher: inout Hasher) { hasher.combine(connectionString) }
}

/// Finds the passwords in a connection string the way libpq tokenizes it (and the ways a person may have
/// miswritten it), and masks them.
///
/// Works on strings libpq would refuse too, so that error messages never show a password. What counts as a
/// password:
/// - the value of any key spelled like `password` (`password`, `passwd`, `pasword`, `sslpassword`, `PWD`…),
///   in a keyword/value string and in a URI's query;
/// - a URI's user information between the first `:` and the last `@` before the host — also when the password
///   holds an unencoded `@` or `/` (libpq would end the user information early and print the rest as host,
///   port or database name; ``DatabaseURL/init(_:setting:)`` refuses such a URI with advice instead);
/// - any of the above inside a `dbname` value that is itself a connection string (keyword, URI, or
///   percent-encoded in a URI's path or query), since the server echoes an unknown database name verbatim.
struct ConnectionStringMask {
    /// The string with every password value replaced by `***`.
    private(set) var masked: String
    /// The password texts found, as written and as libpq or the server would show them (percent-decoded,
    /// unquoted), to scrub them from messages.
    private(set) var secrets: [String] = []
    /// The URI's user information contains an unencoded `/` or a second `@`, which libpq misreads.
    private(set) var hasUnencodedDelimiter = false

    init(_ string: String) {
        masked = string
        let bytes = Array(string.utf8)
        let found = Self.find(bytes)
        hasUnencodedDelimiter = found.unencodedDelimiter
        secrets = found.secrets
        let spans = Self.merged(found.spans)
        guard !spans.isEmpty else { return }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var position = 0
        for span in spans {
            output += bytes[position..<span.lowerBound]
            output += Array("***".utf8)
            position = span.upperBound
        }
        output += bytes[position...]
        masked = String(decoding: output, as: UTF8.self)
    }

    /// The byte ranges of `bytes` that hold passwords, sorted and not overlapping.
    static func secretRanges(_ bytes: [UInt8]) -> [Range<Int>] { merged(find(bytes).spans) }

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
        SecretScrubber(secrets: secrets).scrub(message)
    }

    // MARK: Finding

    private struct Found {
        var spans: [Range<Int>] = []
        var secrets: [String] = []
        var unencodedDelimiter = false

        mutating func add(_ span: Range<Int>, in bytes: [UInt8], decoded: String? = nil) {
            guard !span.isEmpty else { return }
            spans.append(span)
            let raw = String(decoding: bytes[span], as: UTF8.self)
            secrets.append(raw)
            if let decoded, decoded != raw { secrets.append(decoded) }
        }
    }

    private static func find(_ bytes: [UInt8]) -> Found {
        scheme(of: String(decoding: bytes, as: UTF8.self)) != nil ? uriSecrets(bytes) : keywordSecrets(bytes)
    }

    private static func merged(_ spans: [Range<Int>]) -> [Range<Int>] {
        var result: [Range<Int>] = []
        for span in spans.sorted(by: { $0.lowerBound < $1.lowerBound }) where !span.isEmpty {
            if let last = result.last, span.lowerBound <= last.upperBound {
                result[result.count - 1] = last.lowerBound..<max(last.upperBound, span.upperBound)
            } else {
                result.append(span)
            }
        }
        return result
    }

    /// `password` and anything spelled close to it: libpq refuses the misspellings, but a log must not show them.
    static func isPasswordKey(_ key: String) -> Bool {
        let letters = String(key.lowercased().filter { $0.isLetter })
        guard !letters.isEmpty, letters != "passfile", letters != "sslpasswordfile" else { return false }
        if letters.contains("pass") || letters.contains("pwd") || letters.contains("pswd") { return true }
        return editDistance(letters, "password") <= 2 || editDistance(letters, "passwd") <= 1
    }

    /// Levenshtein distance with adjacent transpositions (optimal string alignment).
    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if abs(a.count - b.count) > 2 { return 3 }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in stride(from: 1, through: a.count, by: 1) {
            for j in stride(from: 1, through: b.count, by: 1) {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }

    /// A `dbname` value that is itself a connection string: the passwords in it (its decoded text is `text`).
    private static func nestedSecrets(_ text: String) -> Found? {
        guard text.contains("=") || text.contains("://") else { return nil }
        let inner = find(Array(text.utf8))
        return inner.spans.isEmpty ? nil : inner
    }

    /// Passwords of a URI: user information (see the type's documentation) and query parameters.
    private static func uriSecrets(_ bytes: [UInt8]) -> Found {
        var found = Found()
        guard let schemeEnd = bytes.firstRange(of: Array("://".utf8))?.upperBound else { return found }
        let at = UInt8(ascii: "@")
        let slash = bytes[schemeEnd...].firstIndex(of: UInt8(ascii: "/")) ?? bytes.count
        // libpq ends the user information at the first '@' before any '/'; a password with an '@' of its own
        // reaches to the last one.
        var userInfoEnd = bytes[schemeEnd..<slash].lastIndex(of: at)
        if let end = userInfoEnd, bytes[schemeEnd..<end].contains(at) { found.unencodedDelimiter = true }
        if userInfoEnd == nil, slash < bytes.count, bytes[schemeEnd] != UInt8(ascii: "["),
            let colon = bytes[schemeEnd..<slash].firstIndex(of: UInt8(ascii: ":")),
            let lastAt = bytes[slash...].lastIndex(of: at)
        {
            // `user:pa/ss@host`: libpq reads host `user` and port `pa`. A number there is a real port
            // (`host:5432/db@x` names database `db@x`); anything else is a password with a '/' in it.
            let portText = bytes[(colon + 1)..<slash]
            if portText.isEmpty || !portText.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
                userInfoEnd = lastAt
                found.unencodedDelimiter = true
            }
        }
        var rest = schemeEnd
        if let end = userInfoEnd {
            if let colon = bytes[schemeEnd..<end].firstIndex(of: UInt8(ascii: ":")) {
                let span = (colon + 1)..<end
                found.add(span, in: bytes, decoded: decoded(bytes[span]))
            }
            rest = end + 1
        }
        // The path (database name) and the query.
        let pathStart = bytes[rest...].firstIndex(of: UInt8(ascii: "/")).map { $0 + 1 }
        let question = bytes[rest...].firstIndex(of: UInt8(ascii: "?"))
        if let pathStart, pathStart <= (question ?? bytes.count) {
            let path = pathStart..<(question ?? bytes.count)
            if let text = decoded(bytes[path]), let inner = nestedSecrets(text) {
                found.spans.append(path)
                found.secrets += inner.secrets
            }
        }
        guard let question else { return found }
        var start = question + 1
        while start <= bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.count
            if let equals = bytes[start..<end].firstIndex(of: UInt8(ascii: "=")) {
                let rawKey = bytes[start..<equals]
                let key = decoded(rawKey) ?? String(decoding: rawKey, as: UTF8.self)
                let value = (equals + 1)..<end
                if isPasswordKey(key) {
                    found.add(value, in: bytes, decoded: decoded(bytes[value]))
                } else if key == "dbname", let text = decoded(bytes[value]), let inner = nestedSecrets(text) {
                    found.spans.append(value)
                    found.secrets += inner.secrets
                }
            }
            start = end + 1
        }
        return found
    }

    /// Password spans of a keyword/value string, tokenized like libpq's `conninfo_parse` (quotes, backslashes).
    /// A `dbname` value that is itself a connection string is searched too.
    private static func keywordSecrets(_ bytes: [UInt8]) -> Found {
        var found = Found()
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
                if keyStart < bytes.count { found.add(keyStart..<bytes.count, in: bytes) }
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
                    found.add(valueStart..<bytes.count, in: bytes)
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
            guard !value.isEmpty else { continue }
            if isPasswordKey(key) {
                found.add(value, in: bytes, decoded: unquoted(bytes[value]))
            } else if key == "dbname" {
                // Nested connection string: mask inside it where its bytes are this string's, else all of it.
                var inner = value
                if bytes[value.lowerBound] == UInt8(ascii: "'"), value.count >= 2 {
                    inner = (value.lowerBound + 1)..<(value.upperBound - 1)
                }
                let text = unquoted(bytes[value])
                guard let nested = nestedSecrets(text) else { continue }
                found.secrets += nested.secrets
                found.unencodedDelimiter = found.unencodedDelimiter || nested.unencodedDelimiter
                if text == String(decoding: bytes[inner], as: UTF8.self) {
                    found.spans += nested.spans.map {
                        ($0.lowerBound + inner.lowerBound)..<($0.upperBound + inner.lowerBound)
                    }
                } else {
                    found.spans.append(inner)
                }
            }
        }
        return found
    }

    /// A keyword value as libpq stores it: without its quotes, backslash escapes resolved.
    private static func unquoted(_ raw: ArraySlice<UInt8>) -> String {
        var bytes = Array(raw)
        if bytes.first == UInt8(ascii: "'"), bytes.count >= 2, bytes.last == UInt8(ascii: "'") {
            bytes = Array(bytes.dropFirst().dropLast())
        }
        var result: [UInt8] = []
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "\\"), let next = iterator.next() {
                result.append(next)
            } else {
                result.append(byte)
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    private static func decoded(_ raw: ArraySlice<UInt8>) -> String? {
        String(decoding: raw, as: UTF8.self).removingPercentEncodingIfValid
    }
}

/// Replaces every secret the configuration holds with `***` in any text: errors, health results, events,
/// logs, status JSON. Built from the configured URLs (``ConnectionPoolConfig/secretScrubber``).
///
/// Secrets shorter than 3 characters are masked in URLs but not searched for in free text, where they would
/// match ordinary words.
public struct SecretScrubber: Sendable, Equatable {
    /// Longest first, so that a secret containing another is replaced whole.
    let secrets: [String]

    /// The minimum length of a secret searched for in free text.
    static let minimumLength = 3

    /// A scrubber for the passwords of every URL in `urls`.
    public init(_ urls: [DatabaseURL]) {
        self.init(secrets: urls.flatMap(\.secrets))
    }

    init(secrets: [String]) {
        self.secrets = Array(Set(secrets.filter { $0.count >= Self.minimumLength })).sorted {
            $0.count != $1.count ? $0.count > $1.count : $0 < $1
        }
    }

    /// True when there is nothing to scrub.
    public var isEmpty: Bool { secrets.isEmpty }

    /// `text` with every occurrence of every secret replaced by `***`.
    public func scrub(_ text: String) -> String {
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacingAll(secret, with: "***")
        }
        return result
    }

    /// `text` scrubbed, nil staying nil.
    public func scrub(_ text: String?) -> String? { text.map { scrub($0) } }
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
