import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where clients look for control endpoints: the per-user control directory and the sockets in it.
///
/// The directory rule is the one in docs/CONTROL-PROTOCOL.md ("Turning it on"): `$XDG_RUNTIME_DIR/pooltop/`
/// when `XDG_RUNTIME_DIR` is an absolute path to a directory owned by this uid, else `/tmp/pooltop-<uid>/`.
/// (A client-side copy of the rule until the service side's `ControlSocketPath` is merged.)
public enum ControlDiscovery {
    /// A socket file found in a directory.
    public struct Candidate: Sendable, Equatable {
        public var path: String
        /// From an `auto` name `<pool>.<pid>.sock`; `nil` for other names.
        public var poolName: String?
        public var pid: Int32?
        /// The file's modification time (when the service created it).
        public var modifiedAt: Date
    }

    /// The control directory for this user.
    public static func directory(
        environment: [String: String] = ProcessInfo.processInfo.environment, uid: uid_t = getuid()
    ) -> String {
        if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") {
            var info = stat()
            if stat(runtime, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == uid {
                return (runtime.hasSuffix("/") ? runtime : runtime + "/") + "pooltop"
            }
        }
        return "/tmp/pooltop-\(uid)"
    }

    /// `<pool>.<pid>.sock` → (pool, pid); `nil` for any other name.
    public static func parseAutoName(_ fileName: String) -> (poolName: String, pid: Int32)? {
        guard fileName.hasSuffix(".sock") else { return nil }
        let stem = fileName.dropLast(5)
        guard let dot = stem.lastIndex(of: ".") else { return nil }
        let pool = stem[..<dot]
        let pidText = stem[stem.index(after: dot)...]
        guard !pidText.isEmpty, pidText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let pid = Int32(pidText),
            pid > 0,
            isValidPoolName(String(pool))
        else { return nil }
        return (String(pool), pid)
    }

    /// 1–63 bytes of `[A-Za-z0-9._-]` (the rule for `DB_POOL_NAME`).
    public static func isValidPoolName(_ name: String) -> Bool {
        (1...63).contains(name.utf8.count)
            && name.utf8.allSatisfy { b in
                (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == 0x2E
                    || b == 0x5F || b == 0x2D
            }
    }

    /// The socket files in `directory`, newest first; an unreadable or missing directory has none.
    public static func sockets(in directory: String) -> [Candidate] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var found: [Candidate] = []
        for name in names {
            let path = (directory.hasSuffix("/") ? directory : directory + "/") + name
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK else { continue }
            let parsed = parseAutoName(name)
            let modified = Date(
                timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
            found.append(Candidate(path: path, poolName: parsed?.poolName, pid: parsed?.pid, modifiedAt: modified))
        }
        return found.sorted { ($0.modifiedAt, $0.path) > ($1.modifiedAt, $1.path) }
    }

    /// The newest socket named `<poolName>.<pid>.sock` in `directory` other than `excluding`: where a service
    /// that restarted with `DB_CONTROL_SOCKET=auto` (new pid, same name) serves now.
    public static func newest(poolName: String, in directory: String, excluding: String? = nil) -> Candidate? {
        sockets(in: directory).first { $0.poolName == poolName && $0.path != excluding }
    }

    /// What a path names: a socket, a directory, or nothing usable (with the reason).
    public enum PathKind: Sendable, Equatable {
        case socket
        case directory
        case missing
        case other(String)
    }

    public static func kind(of path: String) -> PathKind {
        var info = stat()
        guard stat(path, &info) == 0 else {
            return errno == ENOENT ? .missing : .other(String(cString: strerror(errno)))
        }
        switch info.st_mode & S_IFMT {
        case S_IFSOCK: return .socket
        case S_IFDIR: return .directory
        case S_IFREG: return .other("it is a regular file, not a socket")
        default: return .other("it is neither a socket nor a directory")
        }
    }
}
