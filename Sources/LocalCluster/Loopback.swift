import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// TCP helpers on 127.0.0.1: free ports and a millisecond-deadline liveness probe.
enum Loopback {
    /// A port that was free a moment ago (bind to port 0, read it back, close). Callers retry if it is taken.
    static func freePort() throws(LocalClusterError) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .fileSystem("socket() failed: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw .fileSystem("bind(127.0.0.1:0) failed: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Connects to `port` and sends a PostgreSQL SSLRequest; a live postmaster answers at once.
    ///
    /// A SIGSTOPped server still completes the TCP handshake (the kernel does that), so only a missing answer
    /// tells it apart from a live one.
    static func probe(port: Int, timeout: Duration) -> Member.Reachability {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return .refusing }
        defer { close(fd) }
        var address = loopbackAddress(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if connected != 0 {
            guard errno == EINPROGRESS else { return .refusing }
            guard wait(fd, for: Int16(POLLOUT), until: deadline, clock: clock) else { return .notResponding }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { return .refusing }
        }
        // SSLRequest: length 8, code 80877103.
        let request: [UInt8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F]
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, 8, Int32(MSG_NOSIGNAL)) }) == 8 else {
            return .refusing
        }
        guard wait(fd, for: Int16(POLLIN), until: deadline, clock: clock) else { return .notResponding }
        return .responding
    }

    private static func wait(
        _ fd: Int32, for events: Int16, until deadline: ContinuousClock.Instant,
        clock: ContinuousClock
    ) -> Bool {
        while true {
            let remaining = deadline - clock.now
            let milliseconds = max(
                0,
                Int32(
                    remaining.components.seconds * 1000
                        + remaining.components.attoseconds / 1_000_000_000_000_000))
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return true }
            if ready == 0 || errno != EINTR { return false }
        }
    }

    private static func loopbackAddress(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
