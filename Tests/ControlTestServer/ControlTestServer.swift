import ConnectionManager
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A tiny HTTP server on a real Unix socket, for tests of the control client, the remote source and the CLI:
/// it answers each request with whatever `handler` returns (raw bytes, so tests can send broken responses),
/// then closes the connection. Not a service: it knows nothing of pools; ``FakeService`` plays one.
public final class ControlTestServer: Sendable {
    public struct Request: Sendable, Equatable {
        public var method: String
        public var target: String
        public var body: String
    }

    public let path: String
    private let listener: Int32
    private let handler: @Sendable (Request) -> [UInt8]
    private let received = Mutex<[Request]>([])
    private let isStopped = Atomic<Bool>(false)

    /// Every request so far, oldest first.
    public var requests: [Request] { received.withLock { $0 } }

    /// Listens at `path` (an old file there is removed).
    public init(path: String, handler: @escaping @Sendable (Request) -> [UInt8]) throws {
        self.path = path
        self.handler = handler
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw POSIXError(.init(rawValue: code) ?? .EIO)
        }
        listener = fd
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit { stop() }

    /// Stops listening and removes the socket file (a client then sees "no such socket").
    public func stop(removingFile: Bool = true) {
        guard !isStopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        if removingFile { unlink(path) }
    }

    private func acceptLoop() {
        while !isStopped.load(ordering: .acquiring) {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            serve(client)
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var request: Request?
        while request == nil {
            let n = read(fd, &chunk, chunk.count)
            guard n > 0 else { return }
            buffer += chunk[..<n]
            request = Self.parse(buffer)
        }
        guard let request else { return }
        received.withLock { $0.append(request) }
        let response = handler(request)
        var offset = 0
        while offset < response.count {
            // MSG_NOSIGNAL: a client that hangs up early (the size-cap test) must not SIGPIPE the test process.
            let n = response.withUnsafeBytes {
                send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard n > 0 else { return }
            offset += n
        }
    }

    /// A whole request (head + Content-Length body), or `nil` while incomplete.
    static func parse(_ bytes: [UInt8]) -> Request? {
        guard let end = ControlHTTPResponse.endOfHead(bytes) else { return nil }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count == 3 else { return Request(method: "?", target: lines[0], body: "") }
        var length = 0
        for line in lines.dropFirst() where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.dropFirst(15).trimmingCharacters(in: CharacterSet.whitespaces)) ?? 0
        }
        guard bytes.count >= end + 4 + length else { return nil }
        let body = String(decoding: bytes[(end + 4)..<(end + 4 + length)], as: UTF8.self)
        return Request(method: String(parts[0]), target: String(parts[1]), body: body)
    }

    // MARK: - Responses

    /// A response as the control endpoint writes it (`X-Pooltop-Protocol: 1` unless `protocolHeader` is nil).
    public static func response(
        _ status: Int, _ body: String, reason: String? = nil, protocolHeader: Int? = 1
    ) -> [UInt8] {
        let reasons = [
            200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
            503: "Service Unavailable",
        ]
        var head = "HTTP/1.1 \(status) \(reason ?? reasons[status] ?? "Status")\r\n"
        head += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n"
        if let protocolHeader { head += "X-Pooltop-Protocol: \(protocolHeader)\r\n" }
        head += "\r\n"
        return Array((head + body).utf8)
    }

    /// A short socket path in /tmp that no other test uses.
    public static func temporaryPath(_ name: String) -> String {
        "/tmp/pt-\(getpid())-\(counter.add(1, ordering: .relaxed).newValue)-\(name).sock"
    }

    private static let counter = Atomic<Int>(0)
}
