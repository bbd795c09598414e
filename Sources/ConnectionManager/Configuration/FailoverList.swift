extension ConnectionPoolConfig {
    /// The targets of a `DATABASE_FAILOVER_URLS` value, trimmed, empty ones dropped.
    ///
    /// A comma separates two targets only where the next one starts: before `postgresql://` or `postgres://`
    /// (any case), or before a libpq keyword and `=` (`host=`, `dbname=`...). Any other comma belongs to the
    /// target it is in, so multi-host URIs (`postgresql://u@h1:5432,h2:5432/db`) and keyword lists
    /// (`host=h1,h2 port=5432,5433`) need no escaping. (On the command line, repeat `--failover-url` instead:
    /// each flag is one target, commas and all.)
    public static func failoverTargets(in text: String) -> [String] {
        var targets: [String] = []
        var current = ""
        var rest = Substring(text)
        while let comma = rest.firstIndex(of: ",") {
            current += rest[..<comma]
            let after = rest[rest.index(after: comma)...]
            if startsTarget(after) {
                targets.append(current)
                current = ""
            } else {
                current += ","
            }
            rest = after
        }
        current += rest
        targets.append(current)
        return targets.map(\.trimmingSpaces).filter { !$0.isEmpty }
    }

    private static func startsTarget(_ text: Substring) -> Bool {
        let start = text.drop { $0.isWhitespace }
        if start.isEmpty { return true }  // a trailing comma
        let lowered = start.prefix(13).lowercased()
        if lowered.hasPrefix("postgresql://") || lowered.hasPrefix("postgres://") { return true }
        let word = start.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        guard !word.isEmpty, LibPQ.keywords.contains(String(word)) else { return false }
        return start.dropFirst(word.count).drop { $0 == " " || $0 == "\t" }.first == "="
    }
}
