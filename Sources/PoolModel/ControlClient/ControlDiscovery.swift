#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Where clients look for control endpoints: the per-user control directory and the sockets in it.
///
/// The directory rule and the `auto` names are the service side's (``ControlSocketPath``, docs/CONTROL-PROTOCOL.md);
/// this adds what clients need: sockets newest first, the newest of a pool, what a typed path names.
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

    /// The control directory for this user (the service side's rule, ``ControlSocketPath/defaultDirectory(environment:uid:)``).
    public static func directory(
        environment: [String: String] = ProcessInfo.processInfo.environment, uid: uid_t = getuid()
    ) -> String {
        ControlSocketPath.defaultDirectory(environment: environment, uid: uid)
    }

    /// `<pool>.<pid>.sock` → (pool, pid); `nil` for any other name.
    public static func parseAutoName(_ fileName: String) -> (poolName: String, pid: Int32)? {
        ControlSocketPath.parse(fileName: fileName)
    }

    /// 1–63 bytes of `[A-Za-z0-9._-]` (the rule for `DB_POOL_NAME`).
    public static func isValidPoolName(_ name: String) -> Bool { PoolName.isValid(name) }

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
