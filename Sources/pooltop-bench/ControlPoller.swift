import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `--control-pollers N`: N clients that each read `GET /v1/snapshot` from the manager's control socket at
/// `rate` per second with the cursors `pooltop attach` sends; what serving them costs the pool is what the run
/// measures.
enum ControlPoller {
    static func start(socket path: String, clients: Int, rate: Double) {
        for index in 0..<clients {
            let thread = Thread {
                var after = 0
                var healthAfter: Int?
                // Spread the clients over the period so their polls do not coincide.
                Thread.sleep(forTimeInterval: Double(index) / (rate * Double(clients)))
                while true {
                    let started = Date()
                    // The cursors `pooltop attach` sends: new events only, new health checks only.
                    let route = "/v1/snapshot?events_after=\(after)" + (healthAfter.map { "&health_after=\($0)" } ?? "")
                    if let body = poll(path, route) {
                        after = number(after: #""events_cursor":"#, in: body) ?? after
                        healthAfter = number(after: #""health_cursor":"#, in: body) ?? healthAfter
                    }
                    Thread.sleep(forTimeInterval: max(0, 1 / rate - Date().timeIntervalSince(started)))
                }
            }
            thread.start()
        }
    }

    /// The whole number that follows `key` in `body`, if any.
    static func number(after key: String, in body: String) -> Int? {
        guard let range = body.range(of: key) else { return nil }
        return Int(body[range.upperBound...].prefix { $0.isNumber })
    }

    /// One request; the whole response as text, nil on failure.
    static func poll(_ path: String, _ route: String) -> String? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < 108 else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else { return nil }
        let request = Array("GET \(route) HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count
        else { return nil }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response += chunk[0..<n]
        }
        return String(decoding: response, as: UTF8.self)
    }
}
