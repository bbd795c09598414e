/// One HTTP/1.1 response from a control endpoint, parsed strictly (the subset in docs/CONTROL-PROTOCOL.md):
/// a status line `HTTP/1.1 <3 digits> <reason>`, CRLF-terminated headers without folding, a `Content-Length`
/// (required; no chunked bodies) and exactly that many body bytes.
public struct ControlHTTPResponse: Sendable, Equatable {
    public var status: Int
    public var reason: String
    /// Header names lowercased, in arrival order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, reason: String, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }

    /// The first value of a header (name case-insensitive).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.status == rhs.status && lhs.reason == rhs.reason && lhs.body == rhs.body
            && lhs.headers.map(\.name) == rhs.headers.map(\.name)
            && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }

    /// The longest status line + headers a reader accepts.
    public static let headLimit = 16 * 1024

    /// What a buffer holds so far.
    public enum Parse: Sendable, Equatable {
        /// More bytes are needed (the head is not complete, or the body is shorter than `Content-Length`).
        case incomplete
        /// A whole response; `consumed` bytes of the buffer belong to it.
        case complete(ControlHTTPResponse, consumed: Int)
    }

    /// Parses a response from the start of `bytes`.
    /// - Parameter bodyLimit: the largest `Content-Length` accepted.
    /// - Throws: ``ControlClientError/malformedResponse(_:)`` naming what is wrong, or
    ///   ``ControlClientError/responseTooLarge(limit:)``.
    public static func parse(_ bytes: [UInt8], bodyLimit: Int) throws(ControlClientError) -> Parse {
        guard let headEnd = endOfHead(bytes) else {
            if bytes.count > headLimit {
                throw .malformedResponse("the status line and headers exceed \(headLimit) bytes")
            }
            return .incomplete
        }
        guard headEnd <= headLimit else {
            throw .malformedResponse("the status line and headers exceed \(headLimit) bytes")
        }
        let lines = try splitLines(bytes[..<headEnd])
        guard let statusLine = lines.first else { throw .malformedResponse("the response is empty") }
        let (status, reason) = try parseStatusLine(statusLine)
        var headers: [(name: String, value: String)] = []
        var contentLength: Int?
        for line in lines.dropFirst() {
            let header = try parseHeader(line)
            headers.append(header)
            switch header.name {
            case "content-length":
                guard !header.value.isEmpty, header.value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                    header.value.utf8.count <= 12, let length = Int(header.value)
                else { throw .malformedResponse("Content-Length is \"\(printable(header.value))\", expected digits") }
                if let contentLength, contentLength != length {
                    throw .malformedResponse("two different Content-Length headers (\(contentLength) and \(length))")
                }
                contentLength = length
            case "transfer-encoding":
                throw .malformedResponse(
                    "Transfer-Encoding \"\(printable(header.value))\" is not part of the control protocol (expected Content-Length)"
                )
            default:
                break
            }
        }
        guard let length = contentLength else {
            throw .malformedResponse("the response has no Content-Length header (every control response has one)")
        }
        guard length <= bodyLimit else { throw .responseTooLarge(limit: bodyLimit) }
        let bodyStart = headEnd + 4
        guard bytes.count - bodyStart >= length else { return .incomplete }
        let body = Array(bytes[bodyStart..<(bodyStart + length)])
        return .complete(
            ControlHTTPResponse(status: status, reason: reason, headers: headers, body: body),
            consumed: bodyStart + length)
    }

    /// Index of the `\r\n\r\n` that ends the head (also used by test servers reading requests).
    public static func endOfHead(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var i = 0
        while i + 3 < bytes.count {
            if bytes[i] == 13, bytes[i + 1] == 10, bytes[i + 2] == 13, bytes[i + 3] == 10 { return i }
            i += 1
        }
        return nil
    }

    /// Lines separated by CRLF; a bare CR or LF is an error.
    private static func splitLines(_ head: ArraySlice<UInt8>) throws(ControlClientError) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = head.startIndex
        var i = head.startIndex
        while i < head.endIndex {
            let byte = head[i]
            if byte == 13 {
                guard i + 1 < head.endIndex, head[i + 1] == 10 else {
                    throw .malformedResponse("a bare CR in the response head (lines end with CRLF)")
                }
                lines.append(head[start..<i])
                i += 2
                start = i
                continue
            }
            if byte == 10 { throw .malformedResponse("a bare LF in the response head (lines end with CRLF)") }
            i += 1
        }
        lines.append(head[start..<head.endIndex])
        return lines
    }

    private static func parseStatusLine(_ line: ArraySlice<UInt8>) throws(ControlClientError) -> (Int, String) {
        let text = String(decoding: line, as: UTF8.self)
        let versions = ["HTTP/1.1 ", "HTTP/1.0 "]
        guard let version = versions.first(where: { text.hasPrefix($0) }) else {
            throw .malformedResponse("the status line is \"\(printable(text))\", expected \"HTTP/1.1 <code> <reason>\"")
        }
        let rest = text.dropFirst(version.count)
        let code = rest.prefix(3)
        guard code.count == 3, code.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let status = Int(code),
            (100...599).contains(status)
        else {
            throw .malformedResponse("the status code in \"\(printable(text))\" is not 3 digits from 100 to 599")
        }
        let afterCode = rest.dropFirst(3)
        if afterCode.isEmpty { return (status, "") }
        guard afterCode.first == " " else {
            throw .malformedResponse("the status line is \"\(printable(text))\", expected a space after the code")
        }
        let reason = String(afterCode.dropFirst())
        guard reason.unicodeScalars.allSatisfy({ $0 == "\t" || ($0.value >= 0x20 && $0.value != 0x7f) }) else {
            throw .malformedResponse("the reason phrase holds control characters")
        }
        return (status, reason)
    }

    private static func parseHeader(_ line: ArraySlice<UInt8>) throws(ControlClientError) -> (
        name: String, value: String
    ) {
        guard let first = line.first else { throw .malformedResponse("an empty header line") }
        if first == 32 || first == 9 {
            throw .malformedResponse("a folded header line (obsolete line folding is not accepted)")
        }
        guard let colon = line.firstIndex(of: 58) else {
            throw .malformedResponse(
                "the header line \"\(printable(String(decoding: line, as: UTF8.self)))\" has no colon")
        }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty, name.allSatisfy(isTokenByte) else {
            throw .malformedResponse(
                "the header name \"\(printable(String(decoding: name, as: UTF8.self)))\" is not an HTTP token")
        }
        let rawValue = line[(colon + 1)...]
        guard rawValue.allSatisfy({ $0 == 9 || ($0 >= 0x20 && $0 != 0x7f) }) else {
            throw .malformedResponse(
                "the value of header \(String(decoding: name, as: UTF8.self)) holds control characters")
        }
        let value = String(decoding: rawValue, as: UTF8.self).trimmingSpacesAndTabs()
        return (String(decoding: name, as: UTF8.self).lowercased(), value)
    }

    private static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }

    /// At most 60 characters with control characters replaced, for messages.
    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.prefix(60).map { $0.value < 0x20 || $0.value == 0x7f ? "?" : Character($0) })
    }
}

extension String {
    fileprivate func trimmingSpacesAndTabs() -> String {
        var scalars = Substring(self)
        while let f = scalars.first, f == " " || f == "\t" { scalars.removeFirst() }
        while let l = scalars.last, l == " " || l == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
