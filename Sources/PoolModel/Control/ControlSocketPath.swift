#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Where control sockets live, and the file-system half of creating and removing one.
///
/// The per-user control directory (as tmux does): `$XDG_RUNTIME_DIR/pooltop/` when `XDG_RUNTIME_DIR` is an
/// absolute path to a directory owned by this uid, otherwise `/tmp/pooltop-<uid>/`. It is created 0700 and
/// refused when it exists but is not a directory (a symlink is not one) owned by this uid, or is group/other
/// accessible. `auto` sockets are `<pool name>.<pid>.sock` in it.
public enum ControlSocketPath {
    /// A Unix socket address' path limit in bytes.
    public static let maxPathLength = 107

    /// The per-user control directory for `uid` (not created; see ``prepareDirectory(_:uid:)``).
    public static func defaultDirectory(
        environment: [String: String] = ProcessInfo.processInfo.environment, uid: UInt32 = getuid()
    ) -> String {
        let runtime = environment["XDG_RUNTIME_DIR"].flatMap { dir -> String? in
            guard dir.hasPrefix("/"), case .directory(let owner, _) = inspect(dir), owner == uid else { return nil }
            return dir
        }
        return directory(runtimeDirectory: runtime, uid: uid)
    }

    /// The rule itself: `runtimeDirectory` is `XDG_RUNTIME_DIR` when it qualified.
    package static func directory(runtimeDirectory: String?, uid: UInt32) -> String {
        if let runtimeDirectory {
            return (runtimeDirectory.hasSuffix("/") ? String(runtimeDirectory.dropLast()) : runtimeDirectory)
                + "/pooltop"
        }
        return "/tmp/pooltop-\(uid)"
    }

    /// `<pool name>.<pid>.sock`.
    public static func fileName(poolName: String, pid: Int32) -> String {
        "\(poolName).\(pid).sock"
    }

    /// A control socket found in a directory.
    public struct Candidate: Sendable, Equatable {
        public var path: String
        /// From the file name (`orders.4242.sock` → `orders`); nil for a name not made by `auto`.
        public var poolName: String?
        /// From the file name (`orders.4242.sock` → 4242).
        public var pid: Int32?

        public init(path: String, poolName: String?, pid: Int32?) {
            self.path = path
            self.poolName = poolName
            self.pid = pid
        }
    }

    /// Pool name and pid of an `auto` file name, nil for any other name.
    public static func parse(fileName: String) -> (poolName: String, pid: Int32)? {
        guard fileName.hasSuffix(".sock") else { return nil }
        let stem = fileName.dropLast(5)
        guard let dot = stem.lastIndex(of: "."), let pid = Int32(stem[stem.index(after: dot)...]), pid > 0 else {
            return nil
        }
        let name = String(stem[..<dot])
        return PoolName.isValid(name) ? (name, pid) : nil
    }

    /// The sockets named `*.sock` in `directory` (sockets only: other files are skipped), sorted by path.
    /// Empty when the directory does not exist or cannot be read. Whether each one answers is for the caller to
    /// find out (a dead process leaves its file behind).
    public static func sockets(in directory: String) -> [Candidate] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        return names.filter { $0.hasSuffix(".sock") }.sorted().compactMap { name in
            let path = base + "/" + name
            guard case .socket = inspect(path) else { return nil }
            let parsed = parse(fileName: name)
            return Candidate(path: path, poolName: parsed?.poolName, pid: parsed?.pid)
        }
    }

    // MARK: The file system (used by ControlEndpoint)

    /// What is at a path (`lstat`: a symlink is reported as `.other`).
    package enum Entry: Equatable {
        case missing
        case directory(owner: UInt32, mode: UInt32)
        case socket(device: UInt64, inode: UInt64)
        case other
    }

    package static func inspect(_ path: String) -> Entry {
        var info = stat()
        guard lstat(path, &info) == 0 else { return errno == ENOENT ? .missing : .other }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return .directory(owner: info.st_uid, mode: info.st_mode & 0o7777)
        case S_IFSOCK: return .socket(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        default: return .other
        }
    }

    /// Creates the per-user directory 0700 if it is missing, and checks it (pure decision: ``directoryProblem``).
    package static func prepareDirectory(_ path: String, uid: UInt32) throws(ControlSocketError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw .directory(path, "it cannot be created: \(SystemError.current)")
        }
        if let problem = directoryProblem(inspect(path), uid: uid) { throw .directory(path, problem) }
    }

    /// Why `entry` is not usable as the per-user control directory of `uid`, nil when it is.
    package static func directoryProblem(_ entry: Entry, uid: UInt32) -> String? {
        switch entry {
        case .missing: return "it does not exist"
        case .socket, .other: return "it exists and is not a directory (symlinks are refused)"
        case .directory(let owner, let mode):
            if owner != uid { return "it is owned by uid \(owner), not by this process' uid \(uid)" }
            if mode & 0o077 != 0 {
                return "its mode is \(String(mode, radix: 8)); it must not be accessible to group or others (0700)"
            }
            return nil
        }
    }

    package static func directoryName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// A fresh private (0700) directory next to `path`, in which a socket can be bound and given its mode before
    /// it is linked into place: the socket file is never reachable with a wider mode.
    package static func makePrivateDirectory(near path: String) throws(ControlSocketError) -> String {
        let parent = directoryName(of: path)
        var template = Array((parent == "/" ? "/.pooltop-XXXXXX" : parent + "/.pooltop-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else {
            throw .socket(path, "cannot create a private directory in \(parent): \(SystemError.current)")
        }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Best effort cleanup of what ``makePrivateDirectory(near:)`` made.
    package static func removePrivateDirectory(_ directory: String, socket: String) {
        _ = unlink(socket)
        _ = rmdir(directory)
    }

    /// Gives the bound socket file its mode and group (before it is linked into place).
    package static func setPermissions(_ path: String, mode: mode_t, group: UInt32?) throws(ControlSocketError) {
        if let group, chown(path, uid_t.max, group) != 0 {
            throw .group(
                "\(group)",
                "the socket cannot be given to this group: \(SystemError.current) "
                    + "(the service must be a member of it)")
        }
        guard chmod(path, mode) == 0 else {
            throw .socket(path, "cannot set its mode: \(SystemError.current)")
        }
    }

    /// Links the bound socket at `from` to `to`, failing when `to` exists (no replace: another process may have
    /// just started there).
    package static func link(_ from: String, to: String) throws(ControlSocketError) {
        guard Glibc.link(from, to) == 0 else {
            if errno == EEXIST { throw .taken(to) }
            throw .socket(to, "cannot create it: \(SystemError.current)")
        }
    }

    /// Removes the socket file at `path` if it is still the one with this device and inode.
    @discardableResult
    package static func removeIfOurs(_ path: String, device: UInt64, inode: UInt64) -> Bool {
        guard inspect(path) == .socket(device: device, inode: inode) else { return false }
        return unlink(path) == 0
    }

    /// Resolves a group name or gid to a gid.
    package static func resolve(_ group: ControlGroupSetting) throws(ControlSocketError) -> UInt32 {
        switch group {
        case .gid(let gid): return gid
        case .name(let name):
            var entry = Glibc.group()
            var result: UnsafeMutablePointer<Glibc.group>?
            var buffer = [CChar](repeating: 0, count: 16_384)
            let status = getgrnam_r(name, &entry, &buffer, buffer.count, &result)
            guard status == 0, let result else { throw .group(name, "no such group") }
            return result.pointee.gr_gid
        }
    }
}

/// Why the control endpoint could not start (turned into a ``ConfigurationError`` naming `DB_CONTROL_SOCKET`).
package enum ControlSocketError: Error, Equatable {
    /// The per-user control directory is unusable.
    case directory(String, String)
    /// A live endpoint already answers at this path.
    case live(String)
    /// Something other than a socket is at the path; it is never removed.
    case notASocket(String)
    /// Another process created the path while this one was starting.
    case taken(String)
    /// The group could not be used.
    case group(String, String)
    /// Any other failure at this path.
    case socket(String, String)

    package var configurationError: ConfigurationError {
        switch self {
        case .directory(let path, let reason):
            return .controlEndpointFailed(
                setting: "DB_CONTROL_SOCKET", path: path, reason: "the control directory is not usable: \(reason)")
        case .live(let path):
            return .controlEndpointFailed(
                setting: "DB_CONTROL_SOCKET", path: path,
                reason: "another live process answers on it (a second instance with the same DB_POOL_NAME and path?)")
        case .notASocket(let path):
            return .controlEndpointFailed(
                setting: "DB_CONTROL_SOCKET", path: path,
                reason: "something that is not a socket is there; it was left alone")
        case .taken(let path):
            return .controlEndpointFailed(
                setting: "DB_CONTROL_SOCKET", path: path, reason: "another process created it while this one started")
        case .group(let group, let reason):
            return .controlEndpointFailed(setting: "DB_CONTROL_GROUP", path: "", reason: "group '\(group)': \(reason)")
        case .socket(let path, let reason):
            return .controlEndpointFailed(setting: "DB_CONTROL_SOCKET", path: path, reason: reason)
        }
    }
}
