import ConnectionManager
import Testing

/// The client's response parser is strict: what the protocol's HTTP subset allows is read, anything else is a
/// clear error — never a guess, a crash or a hang.
@Suite("Control response parsing")
struct ControlHTTPResponseTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func parse(_ text: String, limit: Int = 1024) throws(ControlClientError) -> ControlHTTPResponse.Parse {
        try ControlHTTPResponse.parse(bytes(text), bodyLimit: limit)
    }

    @Test func wholeResponse() throws {
        let text =
            "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
            + "X-Pooltop-Protocol: 1\r\nConnection: close\r\n\r\n{}"
        guard case .complete(let response, let consumed) = try Self.parse(text) else {
            Issue.record("not complete")
            return
        }
        #expect(response.status == 409)
        #expect(response.reason == "Conflict")
        #expect(response.body == Self.bytes("{}"))
        #expect(response.header("x-pooltop-protocol") == "1")
        #expect(response.header("Content-Type") == "application/json")
        #expect(consumed == text.utf8.count)
    }

    @Test func incompleteUntilTheLastByte() throws {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
        for cut in [0, 10, 20, text.utf8.count - 1] {
            // Bytes, not characters: "\r\n" is one Character.
            let prefix = Array(Self.bytes(text).prefix(cut))
            #expect(try ControlHTTPResponse.parse(prefix, bodyLimit: 1024) == .incomplete, "cut at \(cut)")
        }
        guard case .complete(let response, _) = try Self.parse(text) else {
            Issue.record("not complete")
            return
        }
        #expect(String(decoding: response.body, as: UTF8.self) == "hello")
    }

    @Test func emptyReasonAndHTTP10() throws {
        guard case .complete(let r, _) = try Self.parse("HTTP/1.0 503\r\nContent-Length: 0\r\n\r\n") else {
            Issue.record("not complete")
            return
        }
        #expect(r.status == 503 && r.reason == "")
    }

    @Test(arguments: [
        ("HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n", "status line"),
        ("HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", "3 digits"),
        ("HTTP/1.1 999 OK\r\nContent-Length: 0\r\n\r\n", "3 digits"),
        ("HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n", "space after the code"),
        ("HTTP/1.1 200 OK\r\n\r\n", "no Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "expected digits"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", "expected digits"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "two different"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n folded\r\n\r\n", "folded"),
        ("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", "no colon"),
        ("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "not an HTTP token"),
        ("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", "bare LF"),
        ("HTTP/1.1 200 OK\r\nX: a\u{1b}[2J\r\nContent-Length: 0\r\n\r\n", "control characters"),
    ])
    func malformed(text: String, expected: String) {
        do {
            let result = try Self.parse(text)
            Issue.record("accepted \(text.debugDescription): \(result)")
        } catch {
            guard case .malformedResponse(let reason) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(reason.contains(expected), "\(reason)")
            #expect(!error.description.contains("\u{1b}"), "no escape reaches a message")
        }
    }

    @Test func bodyAboveTheLimit() {
        #expect(throws: ControlClientError.responseTooLarge(limit: 10)) {
            try Self.parse("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", limit: 10)
        }
    }

    @Test func headAboveTheLimit() {
        let huge = "HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: ControlHTTPResponse.headLimit + 10)
        #expect(throws: ControlClientError.self) { try Self.parse(huge) }
    }
}
