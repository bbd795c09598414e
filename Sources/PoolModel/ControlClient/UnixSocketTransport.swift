#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One request, one response over a Unix domain socket (`Connection: close`), under one deadline for
/// connect + send + response. Blocking; call it off the UI thread.
struct UnixSocketTransport: Sendable {
    /// The whole exchange must finish within this.
    var timeout: Duration
    /// The largest response body read.
    var bodyLimit: Int

    /// Sends `request` (bytes of a whole HTTP request) to the socket at `path`; returns the parsed response.
    func exchange(path: String, request: [UInt8]) throws(ControlClientError) -> ControlHTTPResponse {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        let fd = try connect(path: path, deadline: deadline, clock: clock)
        defer { close(fd) }
        try send(fd, request, path: path, deadline: deadline, clock: clock)
        return try receive(fd, path: path, deadline: deadline, clock: clock)
    }

    private func connect(
        path: String, deadline: ContinuousClock.Instant, clock: ContinuousClock
    ) throws(ControlClientError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty else { throw .invalidPath(path, reason: "the path is empty") }
        guard !bytes.contains(0) else { throw .invalidPath(path, reason: "the path contains a NUL byte") }
        guard bytes.count < capacity else {
            throw .invalidPath(
                path, reason: "the path is \(bytes.count) bytes, a Unix socket path holds at most \(capacity - 1)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        #if canImport(Glibc)
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
            let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw .transport(path, reason: "socket(): \(Self.errorText(errno))") }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        while true {
            let result = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if result == 0 { return fd }
            let code = errno
            switch code {
            case EINTR:
                continue
            case EAGAIN, EINPROGRESS:
                // The listener's backlog is full (a stopped or overloaded service): retry until the deadline.
                if clock.now >= deadline {
                    close(fd)
                    throw .timedOut(path, phase: "connection accepted", after: timeout)
                }
                usleep(5_000)
                continue
            case ENOENT:
                close(fd)
                throw .noSuchSocket(path)
            case ECONNREFUSED:
                close(fd)
                throw .connectionRefused(path)
            case EACCES, EPERM:
                close(fd)
                throw .permissionDenied(path)
            case ENOTSOCK:
                close(fd)
                throw .invalidPath(path, reason: "the file there is not a socket")
            case ENOTDIR:
                close(fd)
                throw .invalidPath(path, reason: "a component of the path is not a directory")
            default:
                close(fd)
                throw .transport(path, reason: "connect(): \(Self.errorText(code))")
            }
        }
    }

    private func send(
        _ fd: Int32, _ bytes: [UInt8], path: String, deadline: ContinuousClock.Instant, clock: ContinuousClock
    ) throws(ControlClientError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent > 0 {
                offset += sent
                continue
            }
            let code = errno
            if sent < 0 && code == EINTR { continue }
            if sent < 0 && (code == EAGAIN || code == EWOULDBLOCK) {
                try wait(fd, for: Int16(POLLOUT), path: path, phase: "room to send", deadline: deadline, clock: clock)
                continue
            }
            if code == EPIPE || code == ECONNRESET { throw .closedWithoutResponse(path) }
            throw .transport(path, reason: "send(): \(Self.errorText(code))")
        }
    }

    private func receive(
        _ fd: Int32, path: String, deadline: ContinuousClock.Instant, clock: ContinuousClock
    ) throws(ControlClientError) -> ControlHTTPResponse {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if count > 0 {
                buffer.append(contentsOf: chunk[..<count])
                if buffer.count > bodyLimit + ControlHTTPResponse.headLimit + 4 {
                    throw .responseTooLarge(limit: bodyLimit)
                }
                if case .complete(let response, _) = try ControlHTTPResponse.parse(buffer, bodyLimit: bodyLimit) {
                    return response
                }
                continue
            }
            let code = errno
            if count == 0 || (count < 0 && code == ECONNRESET) {
                // The peer closed: a refused peer gets no byte at all; anything else is a cut-off response.
                if buffer.isEmpty { throw .closedWithoutResponse(path) }
                if case .complete(let response, _) = try ControlHTTPResponse.parse(buffer, bodyLimit: bodyLimit) {
                    return response
                }
                throw .transport(
                    path, reason: "the service closed the connection after \(buffer.count) bytes, mid-response")
            }
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK {
                try wait(fd, for: Int16(POLLIN), path: path, phase: "response", deadline: deadline, clock: clock)
                continue
            }
            throw .transport(path, reason: "recv(): \(Self.errorText(code))")
        }
    }

    /// Waits for `events` on `fd` until the deadline.
    private func wait(
        _ fd: Int32, for events: Int16, path: String, phase: String, deadline: ContinuousClock.Instant,
        clock: ContinuousClock
    ) throws(ControlClientError) {
        while true {
            let left = clock.now.duration(to: deadline)
            guard left > .zero else { throw .timedOut(path, phase: phase, after: timeout) }
            let (seconds, atto) = left.components
            let millis = Int32(clamping: seconds * 1000 + atto / 1_000_000_000_000_000 + 1)
            var descriptor = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&descriptor, 1, millis)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw .transport(path, reason: "poll(): \(Self.errorText(errno))") }
        }
    }

    static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
