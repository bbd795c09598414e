import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Every socket call of the control endpoint, and nothing else (the decisions are made elsewhere). Linux only:
/// `SO_PEERCRED`/`SO_PEERGROUPS`, `accept4`, `MSG_NOSIGNAL`.
enum UnixSocket {
    /// A Unix socket address' path limit (`sun_path` is 108 bytes with the terminating NUL).
    static let maxPathLength = ControlSocketPath.maxPathLength
    /// `SO_PEERGROUPS` (Linux ≥ 4.13, asm-generic value; Glibc's headers do not always export it).
    private static let soPeerGroups: Int32 = 59

    /// A non-blocking, close-on-exec listening socket bound at `path` (which must not exist), with a backlog of
    /// `backlog`. The file is created with the process umask applied; the caller binds in a private directory
    /// and sets the mode before the file becomes reachable.
    static func listen(at path: String, backlog: Int32) throws(SystemError) -> Int32 {
        let fd = socket(
            AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw lastError() }
        var address = try self.address(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, Glibc.listen(fd, backlog) == 0 else {
            let error = lastError()
            _ = Glibc.close(fd)
            throw error
        }
        return fd
    }

    /// Whether a process accepts connections on the socket file at `path`.
    enum Liveness: Equatable {
        /// Something accepted (or its backlog is full): a live endpoint.
        case live
        /// Nothing listens (ECONNREFUSED) or the file vanished (ENOENT): safe to replace.
        case stale
        /// Another error (EACCES: someone else's socket): leave it alone.
        case unknown(SystemError)
    }

    /// Connects to `path` without blocking and closes at once.
    static func liveness(of path: String) -> Liveness {
        let fd = socket(
            AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return .unknown(lastError()) }
        defer { _ = Glibc.close(fd) }
        guard var address = try? self.address(path) else { return .unknown(SystemError(ENAMETOOLONG)) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result == 0 { return .live }
        let error = lastError()
        switch error.code {
        case EAGAIN, EINPROGRESS: return .live
        case ECONNREFUSED, ENOENT: return .stale
        default: return .unknown(error)
        }
    }

    /// The next pending connection, non-blocking and close-on-exec; nil when none is pending (or it failed:
    /// a peer that gave up before accept, EMFILE — the listener stays armed and tries again).
    static func accept(_ listener: Int32) -> Int32? {
        // accept4 is hidden behind _GNU_SOURCE in Glibc's module; the descriptor is made close-on-exec right
        // after (a fork+exec in that instant would leak it into the child: acceptable for a control socket).
        let fd = Glibc.accept(listener, nil, nil)
        guard fd >= 0 else { return nil }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return fd
    }

    /// uid, gid and pid of the peer as the kernel recorded them at connect time.
    static func peerCredentials(_ fd: Int32) -> (uid: UInt32, gid: UInt32, pid: Int32)? {
        var credentials = PeerCredentials()
        var length = socklen_t(MemoryLayout<PeerCredentials>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
        return (credentials.uid, credentials.gid, credentials.pid)
    }

    /// The peer's supplementary groups as the kernel recorded them at connect time (`SO_PEERGROUPS`); nil when
    /// the kernel does not support it.
    static func peerGroups(_ fd: Int32) -> [UInt32]? {
        var groups = [gid_t](repeating: 0, count: 64)
        while true {
            var length = socklen_t(groups.count * MemoryLayout<gid_t>.size)
            let result = groups.withUnsafeMutableBytes {
                getsockopt(fd, SOL_SOCKET, soPeerGroups, $0.baseAddress, &length)
            }
            if result == 0 { return Array(groups.prefix(Int(length) / MemoryLayout<gid_t>.size)) }
            guard errno == ERANGE, Int(length) > groups.count * MemoryLayout<gid_t>.size, groups.count < 65_536 else {
                return nil
            }
            groups = [gid_t](repeating: 0, count: Int(length) / MemoryLayout<gid_t>.size)
        }
    }

    /// Linux' `struct ucred` (pid_t, uid_t, gid_t), which Glibc's module hides behind _GNU_SOURCE.
    private struct PeerCredentials {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    enum ReadResult: Equatable {
        case bytes(Int)
        /// Nothing to read now.
        case wouldBlock
        /// The peer closed its side (or the connection broke).
        case closed
    }

    /// One non-blocking read into `buffer`.
    static func read(_ fd: Int32, into buffer: inout [UInt8]) -> ReadResult {
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if count > 0 { return .bytes(count) }
        if count == 0 { return .closed }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .wouldBlock : .closed
    }

    enum WriteResult: Equatable {
        case wrote(Int)
        case wouldBlock
        /// EPIPE/ECONNRESET: the peer is gone (no SIGPIPE: `MSG_NOSIGNAL`).
        case closed
    }

    /// One non-blocking send that never raises SIGPIPE.
    static func write(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> WriteResult {
        let count = bytes.withUnsafeBytes {
            send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
        }
        if count >= 0 { return .wrote(count) }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? .wouldBlock : .closed
    }

    /// Ends both directions at once, so a peer blocked on reading sees the end even before the descriptor
    /// is closed.
    static func shutdownBoth(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    private static func address(_ path: String) throws(SystemError) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count <= maxPathLength else { throw SystemError(ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    private static func lastError() -> SystemError {
        SystemError(errno)
    }
}
