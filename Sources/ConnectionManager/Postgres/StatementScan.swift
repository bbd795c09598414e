/// What the text of a query tells before it is sent, from one pass over its UTF-8 bytes (no allocation).
///
/// - `nulOffset`: libpq takes C strings, so everything after a NUL byte would be dropped silently.
/// - `mayChangeSessionState`: a conservative lexical guess that the query may leave session state behind for
///   the next borrower of the connection (a setting, a role, a prepared statement, a temp table, an advisory
///   lock, a `LISTEN`, …). True unless every statement starts with a keyword known not to (`SELECT`, `INSERT`,
///   `UPDATE`, `DELETE`, `MERGE`, `WITH`, `VALUES`, `TABLE`, `SHOW`, `EXPLAIN`, `LOCK`, the transaction
///   commands, `SET LOCAL`, `SET TRANSACTION`, `SET CONSTRAINTS`) and the text never names `set_config`,
///   `setseed`, `advisory`, `temp`, `listen`, `prepare`, `declare` or `dblink` at the start of a word. False
///   positives only cost a `DISCARD ALL` at checkin; what it cannot see (a function that changes a setting behind
///   a plain `SELECT`) is what the `ParameterStatus` comparison and `DB_SESSION_RESET=always` are for.
/// - `endsTransaction` / `rollsBack`: some statement starts with `COMMIT`, `END` or `PREPARE` (which answer
///   `ROLLBACK` when the transaction had failed) / with `ROLLBACK` or `ABORT` (which answer it by design).
///
/// Every `;` starts a new statement, even one inside a string literal: that can only make the guess more
/// conservative, never hide a statement.
struct StatementScan {
    var nulOffset: Int?
    var mayChangeSessionState = false
    var endsTransaction = false
    var rollsBack = false

    init(_ sql: String) {
        if let scanned = sql.utf8.withContiguousStorageIfAvailable({ Self(bytes: $0) }) {
            self = scanned
        } else {
            self = Array(sql.utf8).withUnsafeBufferPointer { Self(bytes: $0) }
        }
    }

    init(bytes: UnsafeBufferPointer<UInt8>) {
        let count = bytes.count
        var index = 0
        var atStatementStart = true
        while index < count {
            let byte = bytes[index]
            if byte == 0 {
                nulOffset = index
                return
            }
            if atStatementStart {
                if Self.isSpace(byte) || byte == UInt8(ascii: ";") {
                    index += 1
                    continue
                }
                if let end = Self.commentEnd(bytes, at: index) {
                    index = end
                    continue
                }
                atStatementStart = false
                index = classifyStatement(bytes, at: index)
                continue
            }
            if byte == UInt8(ascii: ";") {
                atStatementStart = true
            } else if !mayChangeSessionState, Self.patternFirstBytes(byte),
                index == 0 || !Self.isWordByte(bytes[index - 1]), Self.startsRiskyWord(bytes, at: index)
            {
                mayChangeSessionState = true
            }
            index += 1
        }
    }

    // MARK: Statement starts

    private enum Keyword {
        case clean, commit, rollback, set, prepare
    }

    /// Keywords a statement may start with without changing the session; the rest mark it.
    private static let keywords: [(StaticString, Keyword)] = [
        ("SELECT", .clean), ("INSERT", .clean), ("UPDATE", .clean), ("DELETE", .clean), ("WITH", .clean),
        ("VALUES", .clean), ("TABLE", .clean), ("MERGE", .clean), ("SHOW", .clean), ("EXPLAIN", .clean),
        ("LOCK", .clean), ("BEGIN", .clean), ("START", .clean), ("SAVEPOINT", .clean), ("RELEASE", .clean),
        ("COMMIT", .commit), ("END", .commit), ("ROLLBACK", .rollback), ("ABORT", .rollback), ("SET", .set),
        ("PREPARE", .prepare),
    ]

    /// Reads the first word of a statement at `start` and returns where to continue.
    private mutating func classifyStatement(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Int {
        let end = Self.wordEnd(bytes, from: start)
        guard end > start, let keyword = Self.keyword(bytes, start, end) else {
            // `(SELECT …)`, `DO`, `CREATE`, `RESET`, `DISCARD`, …: assume the worst.
            mayChangeSessionState = true
            return max(end, start + 1)
        }
        switch keyword {
        case .clean:
            break
        case .commit:
            endsTransaction = true
        case .rollback:
            rollsBack = true
        case .prepare:
            // PREPARE TRANSACTION ends a transaction; PREPARE name AS … keeps a prepared statement. Both mark.
            endsTransaction = true
            mayChangeSessionState = true
        case .set:
            // SET LOCAL / SET TRANSACTION / SET CONSTRAINTS last until the transaction ends; other SETs do not.
            var next = end
            while next < bytes.count, Self.isSpace(bytes[next]) { next += 1 }
            let nextEnd = Self.wordEnd(bytes, from: next)
            let scoped =
                Self.equals(bytes, next, nextEnd, "LOCAL") || Self.equals(bytes, next, nextEnd, "TRANSACTION")
                || Self.equals(bytes, next, nextEnd, "CONSTRAINTS")
            if !scoped { mayChangeSessionState = true }
        }
        return end
    }

    private static func keyword(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Keyword? {
        for (word, keyword) in keywords where equals(bytes, start, end, word) { return keyword }
        return nil
    }

    /// The bytes `start..<end` equal `word` (upper case ASCII), ignoring case.
    private static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ word: StaticString)
        -> Bool
    {
        guard end - start == word.utf8CodeUnitCount else { return false }
        let letters = word.utf8Start
        for offset in 0..<(end - start) where upper(bytes[start + offset]) != letters[offset] { return false }
        return true
    }

    // MARK: Words anywhere in the text

    private static let riskyWords: [StaticString] = [
        "set_config", "setseed", "advisory", "temp", "listen", "prepare", "declare", "dblink",
    ]

    @inline(__always)
    private static func patternFirstBytes(_ byte: UInt8) -> Bool {
        switch byte | 0x20 {
        case UInt8(ascii: "s"), UInt8(ascii: "a"), UInt8(ascii: "t"), UInt8(ascii: "l"), UInt8(ascii: "p"),
            UInt8(ascii: "d"):
            return true
        default:
            return false
        }
    }

    /// One of `riskyWords` starts at `index` (ignoring case).
    private static func startsRiskyWord(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        for word in riskyWords where index + word.utf8CodeUnitCount <= bytes.count {
            let letters = word.utf8Start
            var offset = 0
            while offset < word.utf8CodeUnitCount, lower(bytes[index + offset]) == letters[offset] { offset += 1 }
            if offset == word.utf8CodeUnitCount { return true }
        }
        return false
    }

    // MARK: Bytes

    @inline(__always)
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    @inline(__always)
    private static func isWordByte(_ byte: UInt8) -> Bool {
        // Letters and digits; `_` counts as a word boundary so that `pg_advisory_lock` and `pg_temp` are seen.
        let folded = byte | 0x20
        return (folded >= UInt8(ascii: "a") && folded <= UInt8(ascii: "z")) || (byte >= 0x30 && byte <= 0x39)
            || byte >= 0x80
    }

    @inline(__always)
    private static func upper(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
    }

    @inline(__always)
    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    /// The end of the run of ASCII letters starting at `start`.
    private static func wordEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var end = start
        while end < bytes.count {
            let folded = bytes[end] | 0x20
            guard folded >= UInt8(ascii: "a") && folded <= UInt8(ascii: "z") else { break }
            end += 1
        }
        return end
    }

    /// Where a `--` or (nested) `/* */` comment starting at `index` ends; nil when none starts there.
    private static func commentEnd(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
        guard index + 1 < bytes.count else { return nil }
        let first = bytes[index]
        let second = bytes[index + 1]
        if first == UInt8(ascii: "-"), second == UInt8(ascii: "-") {
            var end = index + 2
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n"), bytes[end] != 0 { end += 1 }
            return end
        }
        if first == UInt8(ascii: "/"), second == UInt8(ascii: "*") {
            var depth = 1
            var end = index + 2
            while end < bytes.count, depth > 0 {
                if bytes[end] == 0 { return end }
                if end + 1 < bytes.count, bytes[end] == UInt8(ascii: "*"), bytes[end + 1] == UInt8(ascii: "/") {
                    depth -= 1
                    end += 2
                } else if end + 1 < bytes.count, bytes[end] == UInt8(ascii: "/"), bytes[end + 1] == UInt8(ascii: "*") {
                    depth += 1
                    end += 2
                } else {
                    end += 1
                }
            }
            return end
        }
        return nil
    }
}
