import CLibPQ

/// The few libpq entry points other folders need, so that only `Postgres/` imports `CLibPQ`.
enum LibPQ {
    /// The outcome of `PQconninfoParse`: the options that were set, or libpq's reason for refusing the string.
    enum ParseOutcome: Sendable {
        case parsed([String: String])
        case failed(reason: String)
    }

    /// Parses a URI or keyword/value connection string exactly as libpq will when connecting.
    ///
    /// Only the options written in the string are returned: no environment variables or defaults are applied.
    static func parseConnectionString(_ string: String) -> ParseOutcome {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(string, &errorMessage) else {
            defer { if let errorMessage { PQfreemem(errorMessage) } }
            let reason = errorMessage.map { String(cString: $0) } ?? "out of memory"
            return .failed(reason: trimmed(reason))
        }
        defer { PQconninfoFree(options) }
        var values: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                values[String(cString: keyword)] = String(cString: value)
            }
            option += 1
        }
        return .parsed(values)
    }

    /// Every connection option keyword libpq knows (`host`, `port`, `dbname`, ...), from `PQconndefaults`.
    static let keywords: Set<String> = {
        guard let options = PQconndefaults() else { return [] }
        defer { PQconninfoFree(options) }
        var result: Set<String> = []
        var option = options
        while let keyword = option.pointee.keyword {
            result.insert(String(cString: keyword))
            option += 1
        }
        return result
    }()

    /// The version of the linked libpq, e.g. 150018 for 15.18.
    static var libraryVersion: Int { Int(PQlibVersion()) }

    /// A libpq message without the trailing newline and blanks libpq appends.
    static func trimmed(_ message: String) -> String {
        var result = Substring(message)
        while let last = result.last, last.isWhitespace { result.removeLast() }
        while let first = result.first, first.isWhitespace { result.removeFirst() }
        return String(result)
    }
}
