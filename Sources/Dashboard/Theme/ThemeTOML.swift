/// The TOML that theme files are written in, parsed without Foundation (TOMLKit imports Foundation, which the attached
/// dashboard does not load).
///
/// TOML 1.0 minus what a theme never needs: comments, bare/quoted/dotted keys, `[table]` and `[a.b]` headers, inline
/// tables, arrays (over several lines, trailing comma), basic strings with escapes, literal strings, integers (with
/// `_`, signs), floats and booleans. Multi-line strings, dates and times, arrays of tables and hex/octal/binary
/// integers are refused with a clear error naming the line and column, as are duplicate keys and tables.
enum ThemeTOML {
    /// A syntax error at a 1-based line and column.
    struct SyntaxError: Error, Equatable, CustomStringConvertible {
        var line: Int
        var column: Int
        var message: String
        var description: String { message }
    }

    indirect enum Value: Equatable, CustomStringConvertible {
        case string(String)
        case integer(Int)
        case float(Double)
        case boolean(Bool)
        case array([Value])
        case table(Table)

        var string: String? { if case .string(let s) = self { s } else { nil } }
        var int: Int? { if case .integer(let i) = self { i } else { nil } }
        var bool: Bool? { if case .boolean(let b) = self { b } else { nil } }
        var array: [Value]? { if case .array(let a) = self { a } else { nil } }
        var table: Table? { if case .table(let t) = self { t } else { nil } }

        /// The value as TOML would write it (`"blink"`, `3`, `[1, 2]`), for messages.
        var description: String {
            switch self {
            case .string(let s): return "\"" + s.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
            case .integer(let i): return "\(i)"
            case .float(let d): return "\(d)"
            case .boolean(let b): return b ? "true" : "false"
            case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
            case .table(let t): return "{ " + t.keys.map { "\($0) = \(t[$0]!)" }.joined(separator: ", ") + " }"
            }
        }
    }

    /// A table: its keys in the order they were written.
    struct Table: Equatable {
        private(set) var keys: [String] = []
        private var values: [String: Value] = [:]

        subscript(key: String) -> Value? { values[key] }

        fileprivate mutating func set(_ key: String, _ value: Value) {
            if values.updateValue(value, forKey: key) == nil { keys.append(key) }
        }
    }

    /// Parses a whole document into its root table.
    static func parse(_ text: String) throws(SyntaxError) -> Table {
        var parser = Parser(bytes: Array(text.utf8))
        return try parser.document()
    }
}

extension ThemeTOML {
    fileprivate struct Parser {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        var lineStart = 0
        var root = Table()
        /// Tables opened by a `[header]` (a header may not repeat) and tables closed to additions (inline tables).
        var headerTables: Set<[String]> = []
        var sealedTables: Set<[String]> = []

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        func error(_ message: String) -> SyntaxError {
            SyntaxError(line: line, column: index - lineStart + 1, message: message)
        }

        mutating func advance() {
            if current == UInt8(ascii: "\n") {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }

        mutating func skipSpaces() {
            while current == UInt8(ascii: " ") || current == UInt8(ascii: "\t") { advance() }
        }

        mutating func skipComment() throws(SyntaxError) {
            guard current == UInt8(ascii: "#") else { return }
            while let byte = current, byte != UInt8(ascii: "\n") {
                if byte < 0x20 && byte != UInt8(ascii: "\t") && byte != UInt8(ascii: "\r") {
                    throw error("control character in a comment")
                }
                advance()
            }
        }

        /// Spaces, a comment, then the end of the line (or of the text).
        mutating func endOfLine() throws(SyntaxError) {
            skipSpaces()
            try skipComment()
            if current == UInt8(ascii: "\r") { advance() }
            guard let byte = current else { return }
            guard byte == UInt8(ascii: "\n") else {
                throw error("expected the end of the line, found \(Self.describe(byte))")
            }
            advance()
        }

        mutating func document() throws(SyntaxError) -> Table {
            var table: [String] = []
            while current != nil {
                skipSpaces()
                switch current {
                case nil: break
                case UInt8(ascii: "#"), UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                    try endOfLine()
                case UInt8(ascii: "["):
                    table = try header()
                    try endOfLine()
                default:
                    let key = try dottedKey()
                    skipSpaces()
                    guard current == UInt8(ascii: "=") else { throw error("expected = after the key") }
                    advance()
                    skipSpaces()
                    let value = try value()
                    try insert(value, at: table, key)
                    try endOfLine()
                }
            }
            return root
        }

        mutating func header() throws(SyntaxError) -> [String] {
            advance()
            if current == UInt8(ascii: "[") { throw error("arrays of tables ([[…]]) are not used in theme files") }
            skipSpaces()
            let path = try dottedKey()
            skipSpaces()
            guard current == UInt8(ascii: "]") else { throw error("expected ] to close the table header") }
            advance()
            guard headerTables.insert(path).inserted else {
                throw error("table [\(path.joined(separator: "."))] is defined twice")
            }
            try makeTable(path)
            return path
        }

        /// Creates the tables along `path` (existing ones are reused; a value that is not a table is an error).
        mutating func makeTable(_ path: [String]) throws(SyntaxError) {
            var tables: [Table] = [root]
            for (depth, key) in path.enumerated() {
                let prefix = Array(path[...depth])
                if sealedTables.contains(prefix) {
                    throw error("\(prefix.joined(separator: ".")) is an inline table; it cannot be extended")
                }
                switch tables[depth][key] {
                case nil: tables.append(Table())
                case .table(let existing): tables.append(existing)
                default: throw error("\(prefix.joined(separator: ".")) is already a value, not a table")
                }
            }
            for depth in stride(from: path.count - 1, through: 0, by: -1) {
                tables[depth].set(path[depth], .table(tables[depth + 1]))
            }
            root = tables[0]
        }

        /// Sets `table`.`key…` (a dotted key makes its intermediate tables); a key may be set once.
        mutating func insert(_ value: Value, at table: [String], _ key: [String]) throws(SyntaxError) {
            let path = table + key
            try makeTable(Array(path.dropLast()))
            var tables: [Table] = [root]
            for name in path.dropLast() { tables.append(tables.last![name]!.table!) }
            let last = path.last!
            if tables.last![last] != nil {
                throw error("\(path.joined(separator: ".")) is defined twice")
            }
            tables[tables.count - 1].set(last, value)
            for depth in stride(from: path.count - 2, through: 0, by: -1) {
                tables[depth].set(path[depth], .table(tables[depth + 1]))
            }
            root = tables[0]
            if case .table = value { sealedTables.insert(path) }
        }

        mutating func dottedKey() throws(SyntaxError) -> [String] {
            var parts = [try simpleKey()]
            while true {
                let save = (index, line, lineStart)
                skipSpaces()
                guard current == UInt8(ascii: ".") else {
                    (index, line, lineStart) = save
                    return parts
                }
                advance()
                skipSpaces()
                parts.append(try simpleKey())
            }
        }

        mutating func simpleKey() throws(SyntaxError) -> String {
            switch current {
            case UInt8(ascii: "\""): return try basicString()
            case UInt8(ascii: "'"): return try literalString()
            default:
                let start = index
                while let byte = current, Self.isBareKey(byte) { advance() }
                guard index > start else {
                    throw error(current.map { "expected a key, found \(Self.describe($0))" } ?? "expected a key")
                }
                return String(decoding: bytes[start..<index], as: UTF8.self)
            }
        }

        mutating func value() throws(SyntaxError) -> Value {
            switch current {
            case UInt8(ascii: "\""): return .string(try basicString())
            case UInt8(ascii: "'"): return .string(try literalString())
            case UInt8(ascii: "{"): return .table(try inlineTable())
            case UInt8(ascii: "["): return .array(try array())
            case UInt8(ascii: "t"), UInt8(ascii: "f"):
                if match("true") { return .boolean(true) }
                if match("false") { return .boolean(false) }
                throw error("expected a value (a string, number, true/false, array or { table })")
            case nil: throw error("expected a value, found the end of the text")
            default: return try number()
            }
        }

        mutating func match(_ word: String) -> Bool {
            let utf8 = Array(word.utf8)
            guard index + utf8.count <= bytes.count, Array(bytes[index..<index + utf8.count]) == utf8 else {
                return false
            }
            if index + utf8.count < bytes.count, Self.isBareKey(bytes[index + utf8.count]) { return false }
            for _ in utf8 { advance() }
            return true
        }

        mutating func number() throws(SyntaxError) -> Value {
            let start = index
            while let byte = current,
                Self.isBareKey(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: ":")
            {
                advance()
            }
            let word = String(decoding: bytes[start..<index], as: UTF8.self)
            guard !word.isEmpty else {
                throw error(current.map { "expected a value, found \(Self.describe($0))" } ?? "expected a value")
            }
            let digits = word.replacing("_", with: "")
            if word.contains(":") || (word.count >= 10 && word.dropFirst(4).first == "-") {
                throw error("dates and times are not used in theme files: \(word)")
            }
            let unsigned = digits.hasPrefix("+") || digits.hasPrefix("-") ? digits.dropFirst() : Substring(digits)
            if unsigned.hasPrefix("0x") || unsigned.hasPrefix("0o") || unsigned.hasPrefix("0b") {
                throw error("hexadecimal, octal and binary numbers are not used in theme files: \(word)")
            }
            let underscoresOK =
                !word.hasPrefix("_") && !word.hasSuffix("_") && !word.contains("__")
                && !word.contains("_.") && !word.contains("._")
            let leadingZero =
                unsigned.count > 1 && unsigned.hasPrefix("0") && unsigned.dropFirst().first?.isNumber == true
            if underscoresOK, !leadingZero, unsigned.allSatisfy(\.isNumber), let integer = Int(digits) {
                return .integer(integer)
            }
            if underscoresOK, !leadingZero, unsigned.first?.isNumber == true, unsigned.last?.isNumber == true,
                let float = Double(digits)
            {
                return .float(float)
            }
            if ["inf", "nan"].contains(unsigned), let float = Double(digits) { return .float(float) }
            throw error("\(word) is not a value (a string needs quotes)")
        }

        mutating func basicString() throws(SyntaxError) -> String {
            advance()
            if current == UInt8(ascii: "\""), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\"") {
                throw error("multi-line strings are not used in theme files")
            }
            var result: [UInt8] = []
            while true {
                guard let byte = current, byte != UInt8(ascii: "\n") else {
                    throw error("unterminated string (a \" is missing)")
                }
                advance()
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: result, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    try escape(into: &result)
                case 0..<0x20 where byte != UInt8(ascii: "\t"), 0x7F:
                    throw error("control character in a string (escape it)")
                default:
                    result.append(byte)
                }
            }
        }

        mutating func escape(into result: inout [UInt8]) throws(SyntaxError) {
            guard let byte = current else { throw error("unterminated string (a \" is missing)") }
            advance()
            switch byte {
            case UInt8(ascii: "\""): result.append(byte)
            case UInt8(ascii: "\\"): result.append(byte)
            case UInt8(ascii: "b"): result.append(0x08)
            case UInt8(ascii: "t"): result.append(0x09)
            case UInt8(ascii: "n"): result.append(0x0A)
            case UInt8(ascii: "f"): result.append(0x0C)
            case UInt8(ascii: "r"): result.append(0x0D)
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                let count = byte == UInt8(ascii: "u") ? 4 : 8
                guard index + count <= bytes.count,
                    let scalar = UInt32(String(decoding: bytes[index..<index + count], as: UTF8.self), radix: 16)
                        .flatMap(Unicode.Scalar.init)
                else {
                    throw error("invalid \\\(Character(Unicode.Scalar(byte))) escape (expected \(count) hex digits)")
                }
                for _ in 0..<count { advance() }
                result += Array(String(Character(scalar)).utf8)
            default:
                throw error("invalid escape \\\(Self.describe(byte))")
            }
        }

        mutating func literalString() throws(SyntaxError) -> String {
            advance()
            if current == UInt8(ascii: "'"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "'") {
                throw error("multi-line strings are not used in theme files")
            }
            let start = index
            while let byte = current, byte != UInt8(ascii: "'") {
                if byte == UInt8(ascii: "\n") { break }
                advance()
            }
            guard current == UInt8(ascii: "'") else { throw error("unterminated string (a ' is missing)") }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            advance()
            return text
        }

        /// `{ a = 1, b.c = "x" }` on one line (TOML 1.0: no newline inside, no trailing comma).
        mutating func inlineTable() throws(SyntaxError) -> Table {
            advance()
            var inner = Parser(bytes: [])
            skipSpaces()
            if current == UInt8(ascii: "}") {
                advance()
                return Table()
            }
            while true {
                skipSpaces()
                let key = try dottedKey()
                skipSpaces()
                guard current == UInt8(ascii: "=") else { throw error("expected = after the key") }
                advance()
                skipSpaces()
                let value = try value()
                inner.index = index
                inner.line = line
                inner.lineStart = lineStart
                try inner.insert(value, at: [], key)
                skipSpaces()
                switch current {
                case UInt8(ascii: ","): advance()
                case UInt8(ascii: "}"):
                    advance()
                    return inner.root
                case UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "#"), nil:
                    throw error("unterminated inline table (a } is missing on this line)")
                case let byte?:
                    throw error("expected , or } in the inline table, found \(Self.describe(byte))")
                }
            }
        }

        /// `[a, b]`, over several lines with comments, a trailing comma allowed.
        mutating func array() throws(SyntaxError) -> [Value] {
            advance()
            var items: [Value] = []
            while true {
                try skipBlank()
                if current == UInt8(ascii: "]") {
                    advance()
                    return items
                }
                items.append(try value())
                try skipBlank()
                switch current {
                case UInt8(ascii: ","): advance()
                case UInt8(ascii: "]"):
                    advance()
                    return items
                case nil: throw error("unterminated array (a ] is missing)")
                case let byte?: throw error("expected , or ] in the array, found \(Self.describe(byte))")
                }
            }
        }

        /// Spaces, newlines and comments (inside arrays).
        mutating func skipBlank() throws(SyntaxError) {
            while true {
                skipSpaces()
                switch current {
                case UInt8(ascii: "#"): try skipComment()
                case UInt8(ascii: "\n"), UInt8(ascii: "\r"): advance()
                default: return
                }
            }
        }

        static func isBareKey(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }

        static func describe(_ byte: UInt8) -> String {
            byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x" + String(byte, radix: 16)
        }
    }
}
