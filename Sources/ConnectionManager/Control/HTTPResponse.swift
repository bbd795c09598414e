import Foundation

/// A response of the control endpoint, as a value: the router decides it, the shell writes its ``bytes``.
public struct HTTPResponse: Sendable, Equatable {
    public var status: HTTPStatus
    /// Extra header fields (`Allow`); the standard ones are added by ``bytes``.
    public var headers: [String: String]
    public var body: Data

    public init(status: HTTPStatus, headers: [String: String] = [:], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// `{"error": "<sentence>", "protocol_version": 1}` with `status`.
    public static func error(_ status: HTTPStatus, _ message: String, headers: [String: String] = [:])
        -> HTTPResponse
    {
        let body = ControlError(error: message, protocolVersion: ControlProtocol.version)
        return HTTPResponse(status: status, headers: headers, body: ControlProtocol.encode(body))
    }

    /// The status line, the protocol's fixed headers (`Content-Type`, `Content-Length`, `Connection: close`,
    /// `X-Pooltop-Protocol`), the extra ones sorted by name, and the body.
    public var bytes: [UInt8] {
        var head = "HTTP/1.1 \(status.code) \(status.reason)\r\n"
        head += "Content-Type: application/json\r\n"
        head += "Content-Length: \(body.count)\r\n"
        head += "Connection: close\r\n"
        head += "X-Pooltop-Protocol: \(ControlProtocol.version)\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            head += "\(name): \(value)\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + body
    }
}

/// The body of every error response.
struct ControlError: Codable, Equatable {
    var error: String
    var protocolVersion: Int

    enum CodingKeys: String, CodingKey {
        case error
        case protocolVersion = "protocol_version"
    }
}
