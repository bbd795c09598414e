// This file stands alone (Swift standard library only): the fuzz harness compiles it by itself
// (Tests/Fuzz/run.sh). Keep it free of other imports and of other files' types.

/// A status code the control endpoint answers with, and its reason phrase.
public struct HTTPStatus: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let code: Int
    public let reason: String

    public init(_ code: Int, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public static let ok = HTTPStatus(200, "OK")
    public static let badRequest = HTTPStatus(400, "Bad Request")
    public static let forbidden = HTTPStatus(403, "Forbidden")
    public static let notFound = HTTPStatus(404, "Not Found")
    public static let methodNotAllowed = HTTPStatus(405, "Method Not Allowed")
    public static let requestTimeout = HTTPStatus(408, "Request Timeout")
    public static let conflict = HTTPStatus(409, "Conflict")
    public static let lengthRequired = HTTPStatus(411, "Length Required")
    public static let contentTooLarge = HTTPStatus(413, "Content Too Large")
    public static let uriTooLong = HTTPStatus(414, "URI Too Long")
    public static let headersTooLarge = HTTPStatus(431, "Request Header Fields Too Large")
    public static let internalError = HTTPStatus(500, "Internal Server Error")
    public static let notImplemented = HTTPStatus(501, "Not Implemented")
    public static let unavailable = HTTPStatus(503, "Service Unavailable")
    public static let versionNotSupported = HTTPStatus(505, "HTTP Version Not Supported")

    public var description: String { "\(code) \(reason)" }
}

/// One parsed request: what the router needs, nothing more.
public struct HTTPRequest: Sendable, Equatable {
    /// As sent (methods are case-sensitive: `get` is not `GET`).
    public var method: String
    /// The path of the origin-form target, without the query (`/v1/snapshot`).
    public var path: String
    /// The raw query after `?` (`events_after=12`), empty when there is none.
    public var query: String
    /// `HTTP/1.1` or `HTTP/1.0`.
    public var version: String
    /// Header fields in arrival order; names lowercased, values with surrounding spaces removed.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(
        method: String, path: String, query: String = "", version: String = "HTTP/1.1",
        headers: [(name: String, value: String)] = [], body: [UInt8] = []
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.version = version
        self.headers = headers
        self.body = body
    }

    /// The first value of a header (`name` in lowercase).
    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.path == rhs.path && lhs.query == rhs.query && lhs.version == rhs.version
            && lhs.headers.map(\.name) == rhs.headers.map(\.name)
            && lhs.headers.map(\.value) == rhs.headers.map(\.value)
            && lhs.body == rhs.body
    }
}

/// Request size limits of the control protocol (docs/CONTROL-PROTOCOL.md).
public struct HTTPLimits: Sendable, Equatable {
    /// Request line plus header fields, including their line ends and the empty line. 8 KiB.
    public var maxHeaderBytes: Int = 8 * 1024
    /// Request body (`Content-Length`). 64 KiB.
    public var maxBodyBytes: Int = 64 * 1024
    /// Header fields (more is a 431 even within `maxHeaderBytes`).
    public var maxHeaderCount: Int = 64

    public init() {}
}

/// A strict HTTP/1.1 request parser: bytes in, a decision out. No I/O, no clock, no allocation beyond the bytes
/// it keeps. Feed what arrives with ``append(_:)``; it answers `.needMore` until the request is complete or
/// refused. After `.request` or `.reject` the parser is done (one request per connection).
///
/// Accepted: `METHOD SP origin-form SP HTTP/1.1|HTTP/1.0 CRLF`, `name: value CRLF` fields, CRLF, then a body of
/// exactly `Content-Length` bytes. Refused: anything else — bare LF line ends, obsolete line folding, control
/// characters, `Transfer-Encoding` (chunked bodies: 411; others: 501), conflicting `Content-Length`s, an
/// absolute-form or asterisk target. Bytes after the body are ignored.
public struct HTTPRequestParser: Sendable {
    /// What the bytes so far amount to.
    public enum Outcome: Sendable, Equatable {
        /// The request is incomplete; feed more bytes (or time out the connection).
        case needMore
        /// A complete request.
        case request(HTTPRequest)
        /// Refused: answer `status` with `reason` (a sentence) and close.
        case reject(HTTPStatus, String)
    }

    public let limits: HTTPLimits
    private var buffer: [UInt8] = []
    /// Where the body starts, once the header section is complete and valid.
    private var head: (request: HTTPRequest, bodyStart: Int, bodyLength: Int)?
    private var finished: Outcome?
    /// How many bytes of the header section have been looked at.
    private var scanned = 0
    private var sawRequestLine = false

    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    /// Bytes received so far (kept until the request is complete).
    public var bufferedByteCount: Int { buffer.count }

    /// Adds bytes that arrived and says what the request amounts to now.
    public mutating func append<Bytes: Collection>(_ bytes: Bytes) -> Outcome where Bytes.Element == UInt8 {
        if let finished { return finished }
        buffer.append(contentsOf: bytes)
        let outcome = step()
        if outcome != .needMore {
            finished = outcome
            buffer = []
        }
        return outcome
    }

    private mutating func step() -> Outcome {
        if head == nil {
            switch scanHeader() {
            case .some(.needMore), nil:
                if scanned >= limits.maxHeaderBytes + 4 {
                    return .reject(
                        .headersTooLarge,
                        "The request line and headers are larger than \(limits.maxHeaderBytes) bytes.")
                }
                return .needMore
            case .some(.reject(let status, let reason)):
                return .reject(status, reason)
            case .some(.request):
                break
            }
        }
        guard let (request, bodyStart, bodyLength) = head else { return .needMore }
        guard buffer.count - bodyStart >= bodyLength else { return .needMore }
        var complete = request
        complete.body = Array(buffer[bodyStart..<(bodyStart + bodyLength)])
        return .request(complete)
    }

    /// Scans the bytes not yet looked at for the CRLF CRLF that ends the header section (within the limit),
    /// refusing at once what can never become a request (a NUL, a bare LF): a slow or hostile client is told
    /// early, and each byte is looked at once however it is split across reads.
    /// Returns `.request` (with `head` set) when the header section is complete and valid.
    private mutating func scanHeader() -> Outcome? {
        let searchable = min(buffer.count, limits.maxHeaderBytes + 4)
        while scanned < searchable {
            let byte = buffer[scanned]
            if byte == 0 { return .reject(.badRequest, "The request contains a NUL byte.") }
            if byte == 10 {
                guard scanned > 0, buffer[scanned - 1] == 13 else {
                    return .reject(.badRequest, "Lines must end with CRLF.")
                }
                if !sawRequestLine {
                    // The request line is complete: a hopeless one is refused now, not at the deadline.
                    sawRequestLine = true
                    if case .failure(let rejection) = Self.parseRequestLine(buffer[0..<(scanned - 1)]) {
                        return .reject(rejection.status, rejection.reason)
                    }
                }
                if scanned >= 3, buffer[scanned - 2] == 10, buffer[scanned - 3] == 13 {
                    let end = scanned - 3
                    scanned += 1
                    switch parseHead(buffer[0..<end]) {
                    case .failure(let rejection): return .reject(rejection.status, rejection.reason)
                    case .success(let parsed):
                        head = (parsed.request, end + 4, parsed.bodyLength)
                        return .request(parsed.request)
                    }
                }
            }
            scanned += 1
        }
        return .needMore
    }

    private struct Rejection: Error {
        let status: HTTPStatus
        let reason: String

        init(_ status: HTTPStatus, _ reason: String) {
            self.status = status
            self.reason = reason
        }
    }

    private func parseHead(_ bytes: ArraySlice<UInt8>) -> Result<(request: HTTPRequest, bodyLength: Int), Rejection> {
        var lines: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == 13 {
                guard i + 1 < bytes.endIndex, bytes[i + 1] == 10 else {
                    return .failure(Rejection(.badRequest, "A line contains a bare CR."))
                }
                lines.append(bytes[start..<i])
                i += 2
                start = i
                continue
            }
            if bytes[i] == 10 { return .failure(Rejection(.badRequest, "Lines must end with CRLF.")) }
            i += 1
        }
        lines.append(bytes[start..<bytes.endIndex])
        let requestLine = lines.removeFirst()
        let line: (method: String, path: String, query: String, version: String)
        switch Self.parseRequestLine(requestLine) {
        case .failure(let rejection): return .failure(rejection)
        case .success(let parsed): line = parsed
        }

        var headers: [(name: String, value: String)] = []
        var contentLength: Int?
        for line in lines {
            guard headers.count < limits.maxHeaderCount else {
                return .failure(Rejection(.headersTooLarge, "More than \(limits.maxHeaderCount) header fields."))
            }
            if let first = line.first, first == 32 || first == 9 {
                return .failure(Rejection(.badRequest, "Folded header lines are not accepted."))
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                return .failure(Rejection(.badRequest, "A header line has no 'name:'."))
            }
            let nameBytes = line[line.startIndex..<colon]
            guard nameBytes.allSatisfy(Self.isTokenByte) else {
                return .failure(Rejection(.badRequest, "A header name is not a valid token."))
            }
            var valueBytes = line[(colon + 1)..<line.endIndex]
            guard valueBytes.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else {
                return .failure(Rejection(.badRequest, "A header value contains a control character."))
            }
            while let f = valueBytes.first, f == 32 || f == 9 { valueBytes.removeFirst() }
            while let l = valueBytes.last, l == 32 || l == 9 { valueBytes.removeLast() }
            let name = String(decoding: nameBytes, as: UTF8.self).lowercased()
            let value = String(decoding: valueBytes, as: UTF8.self)
            switch name {
            case "transfer-encoding":
                if value.lowercased().contains("chunked") {
                    return .failure(
                        Rejection(.lengthRequired, "Chunked request bodies are not accepted; send Content-Length."))
                }
                return .failure(Rejection(.notImplemented, "Transfer-Encoding is not supported."))
            case "content-length":
                guard !valueBytes.isEmpty, valueBytes.count <= 18, valueBytes.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                    let length = Int(value)
                else {
                    return .failure(Rejection(.badRequest, "Content-Length must be a decimal number."))
                }
                if let contentLength, contentLength != length {
                    return .failure(Rejection(.badRequest, "Conflicting Content-Length headers."))
                }
                guard length <= limits.maxBodyBytes else {
                    return .failure(
                        Rejection(.contentTooLarge, "The request body is larger than \(limits.maxBodyBytes) bytes."))
                }
                contentLength = length
            default:
                break
            }
            headers.append((name, value))
        }
        let request = HTTPRequest(
            method: line.method, path: line.path, query: line.query, version: line.version, headers: headers)
        return .success((request, contentLength ?? 0))
    }

    /// `METHOD SP origin-form SP HTTP/1.x`, checked as soon as its line end arrives.
    private static func parseRequestLine(_ requestLine: ArraySlice<UInt8>) -> Result<
        (method: String, path: String, query: String, version: String), Rejection
    > {
        let parts = requestLine.split(separator: 32, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            return .failure(Rejection(.badRequest, "The request line must be 'METHOD /path HTTP/1.1'."))
        }
        guard parts[0].allSatisfy(Self.isTokenByte) else {
            return .failure(Rejection(.badRequest, "The method is not a valid token."))
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            if version.hasPrefix("HTTP/") && parts[2].allSatisfy({ $0 > 32 && $0 < 127 }) {
                return .failure(Rejection(.versionNotSupported, "Only HTTP/1.1 and HTTP/1.0 are spoken here."))
            }
            return .failure(Rejection(.badRequest, "The request line must end with HTTP/1.1."))
        }
        let target = parts[1]
        guard target.first == UInt8(ascii: "/") else {
            return .failure(Rejection(.badRequest, "The request target must be a path starting with '/'."))
        }
        guard target.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "#") }) else {
            return .failure(Rejection(.badRequest, "The request target contains a character that is not allowed."))
        }
        let pathEnd = target.firstIndex(of: UInt8(ascii: "?")) ?? target.endIndex
        let path = String(decoding: target[target.startIndex..<pathEnd], as: UTF8.self)
        let query =
            pathEnd < target.endIndex ? String(decoding: target[(pathEnd + 1)..<target.endIndex], as: UTF8.self) : ""
        return .success((String(decoding: parts[0], as: UTF8.self), path, query, version))
    }

    /// RFC 9110 `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}
