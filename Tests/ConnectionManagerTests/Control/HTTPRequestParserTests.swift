import Testing

@testable import ConnectionManager

/// The request parser alone: bytes in, a decision out.
@Suite("HTTPRequestParser")
struct HTTPRequestParserTests {
    static func parse(_ text: String, limits: HTTPLimits = HTTPLimits()) -> HTTPRequestParser.Outcome {
        var parser = HTTPRequestParser(limits: limits)
        return parser.append(Array(text.utf8))
    }

    static func status(_ outcome: HTTPRequestParser.Outcome) -> Int? {
        if case .reject(let status, _) = outcome { return status.code }
        return nil
    }

    @Test func curlsRequestIsParsed() throws {
        let outcome = Self.parse(
            "GET /v1/snapshot?events_after=12 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"
        )
        guard case .request(let request) = outcome else {
            Issue.record("not a request: \(outcome)")
            return
        }
        #expect(request.method == "GET")
        #expect(request.path == "/v1/snapshot")
        #expect(request.query == "events_after=12")
        #expect(request.version == "HTTP/1.1")
        #expect(request.header("host") == "localhost")
        #expect(request.header("user-agent") == "curl/8.5.0")
        #expect(request.body.isEmpty)
    }

    @Test func aBodyOfContentLengthBytesIsRead() {
        let body = #"{"command":"suspend"}"#
        let outcome = Self.parse(
            "POST /v1/commands HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)trailing"
        )
        #expect(
            outcome
                == .request(
                    HTTPRequest(
                        method: "POST", path: "/v1/commands",
                        headers: [("content-type", "application/json"), ("content-length", "\(body.utf8.count)")],
                        body: Array(body.utf8))))
    }

    /// Every split of a request into two reads gives the same request; the first part alone needs more.
    @Test func anySplitGivesTheSameRequest() {
        let text = Array("POST /v1/commands HTTP/1.0\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhello".utf8)
        let whole = Self.parse(String(decoding: text, as: UTF8.self))
        guard case .request = whole else {
            Issue.record("not a request: \(whole)")
            return
        }
        for cut in 0..<text.count {
            var parser = HTTPRequestParser()
            #expect(parser.append(text[0..<cut]) == .needMore, "cut at \(cut)")
            #expect(parser.append(text[cut...]) == whole, "cut at \(cut)")
        }
    }

    @Test func oneByteAtATimeIsParsed() {
        var parser = HTTPRequestParser()
        let text = Array("GET /v1/info HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        for byte in text.dropLast() { #expect(parser.append([byte]) == .needMore) }
        #expect(
            parser.append([text.last!])
                == .request(HTTPRequest(method: "GET", path: "/v1/info", headers: [("host", "x")])))
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        let name: String
        let text: String
        let status: Int
        var testDescription: String { name }
    }

    static let malformed: [Malformed] = [
        .init(name: "empty request line", text: "\r\n\r\n", status: 400),
        .init(name: "two parts", text: "GET /v1/info\r\n\r\n", status: 400),
        .init(name: "four parts", text: "GET /v1/info HTTP/1.1 x\r\n\r\n", status: 400),
        .init(name: "double space", text: "GET  /v1/info HTTP/1.1\r\n\r\n", status: 400),
        .init(name: "bare LF", text: "GET /v1/info HTTP/1.1\nHost: x\n\n", status: 400),
        .init(name: "bare CR", text: "GET /v1/info HTTP/1.1\rHost: x\r\n\r\n", status: 400),
        .init(name: "NUL byte", text: "GET /v1/\u{0}info HTTP/1.1\r\n\r\n", status: 400),
        .init(name: "HTTP/2", text: "GET /v1/info HTTP/2.0\r\n\r\n", status: 505),
        .init(name: "HTTP/0.9 style", text: "GET /v1/info\r\n", status: 400),
        .init(name: "not HTTP", text: "SSH-2.0-OpenSSH_9.6\r\n\r\n", status: 400),
        .init(name: "absolute form", text: "GET http://x/v1/info HTTP/1.1\r\n\r\n", status: 400),
        .init(name: "asterisk", text: "OPTIONS * HTTP/1.1\r\n\r\n", status: 400),
        .init(name: "fragment", text: "GET /v1/info#x HTTP/1.1\r\n\r\n", status: 400),
        .init(name: "non-ASCII target", text: "GET /v1/ïnfo HTTP/1.1\r\n\r\n", status: 400),
        .init(name: "method not a token", text: "G(T /v1/info HTTP/1.1\r\n\r\n", status: 400),
        .init(name: "header without colon", text: "GET /v1/info HTTP/1.1\r\nHost\r\n\r\n", status: 400),
        .init(name: "empty header name", text: "GET /v1/info HTTP/1.1\r\n: x\r\n\r\n", status: 400),
        .init(name: "space before colon", text: "GET /v1/info HTTP/1.1\r\nHost : x\r\n\r\n", status: 400),
        .init(name: "folded header", text: "GET /v1/info HTTP/1.1\r\nA: b\r\n c\r\n\r\n", status: 400),
        .init(name: "control character in value", text: "GET /v1/info HTTP/1.1\r\nA: b\u{1}c\r\n\r\n", status: 400),
        .init(name: "negative length", text: "POST /v1/commands HTTP/1.1\r\nContent-Length: -1\r\n\r\n", status: 400),
        .init(name: "length with sign", text: "POST /v1/commands HTTP/1.1\r\nContent-Length: +1\r\n\r\nx", status: 400),
        .init(
            name: "huge length digits",
            text: "POST /v1/commands HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", status: 400),
        .init(
            name: "conflicting lengths",
            text: "POST /v1/commands HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", status: 400),
        .init(
            name: "chunked body", text: "POST /v1/commands HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            status: 411),
        .init(
            name: "other transfer coding", text: "POST /v1/commands HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            status: 501),
        .init(name: "body too large", text: "POST /v1/commands HTTP/1.1\r\nContent-Length: 65537\r\n\r\n", status: 413),
    ]

    @Test(arguments: malformed)
    func malformedRequestIsRejected(_ input: Malformed) {
        let outcome = Self.parse(input.text)
        #expect(Self.status(outcome) == input.status, "\(outcome)")
    }

    @Test func repeatedEqualContentLengthsAreAccepted() {
        let outcome = Self.parse("POST /v1/commands HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok")
        guard case .request(let request) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(request.body == Array("ok".utf8))
    }

    @Test func headersLargerThan8KiBAre431EvenWithoutTheirEnd() {
        let big = "GET /v1/info HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 9000)
        #expect(Self.status(Self.parse(big)) == 431)
        #expect(Self.status(Self.parse(big + "\r\n\r\n")) == 431)
        // Just under the limit is fine.
        let line = "GET /v1/info HTTP/1.1\r\nX-Big: "
        let fits = line + String(repeating: "a", count: 8 * 1024 - line.utf8.count) + "\r\n\r\n"
        guard case .request = Self.parse(fits) else {
            Issue.record("8 KiB of header section was refused")
            return
        }
    }

    @Test func tooManyHeaderFieldsAre431() {
        let text = "GET /v1/info HTTP/1.1\r\n" + (0..<65).map { "X-\($0): y\r\n" }.joined() + "\r\n"
        #expect(Self.status(Self.parse(text)) == 431)
    }

    @Test func aRequestLineAloneThatIsHopelessIsRefusedBeforeItsEnd() {
        // A bare LF is refused at once: a slow client is told before the deadline.
        var parser = HTTPRequestParser()
        #expect(Self.status(parser.append(Array("GET / HTTP/1.1\n".utf8))) == 400)
    }

    @Test func afterADecisionMoreBytesChangeNothing() {
        var parser = HTTPRequestParser()
        let first = parser.append(Array("BAD\r\n\r\n".utf8))
        #expect(Self.status(first) == 400)
        #expect(parser.append(Array("GET /v1/info HTTP/1.1\r\n\r\n".utf8)) == first)
        #expect(parser.bufferedByteCount == 0)
    }

    @Test func anIncompleteBodyNeedsMore() {
        var parser = HTTPRequestParser()
        #expect(parser.append(Array("POST /v1/commands HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc".utf8)) == .needMore)
        #expect(parser.append(Array("defghij".utf8)) != .needMore)
    }
}
