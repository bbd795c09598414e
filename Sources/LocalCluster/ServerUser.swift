import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The account the server programs run as: `postgres` when this process is root (initdb refuses root), else us.
enum ServerUser: Sendable, Equatable {
    case current
    case postgres(uid: uid_t, gid: gid_t, runuser: String)

    static func forCurrentProcess() throws(LocalClusterError) -> ServerUser {
        guard geteuid() == 0 else { return .current }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        let status = getpwnam_r("postgres", &entry, &buffer, buffer.count, &result)
        guard status == 0, result != nil else { throw .systemUserMissing("getpwnam(\"postgres\") found no entry") }
        let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser", "/bin/runuser"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let runuser else { throw .systemUserMissing("`runuser` (util-linux) is not installed") }
        return .postgres(uid: entry.pw_uid, gid: entry.pw_gid, runuser: runuser)
    }

    /// The argument vector that runs `command` as this user.
    func wrap(_ command: [String]) -> [String] {
        switch self {
        case .current: return command
        case .postgres(_, _, let runuser): return [runuser, "-u", "postgres", "--"] + command
        }
    }
}
