import Foundation

/// Absolute paths of the PostgreSQL programs a cluster needs, all from one installation.
struct PostgresBinaries: Sendable {
    /// Programs that must all live in the chosen directory (`pg_ctl` finds `postgres` next to itself).
    static let required = ["initdb", "pg_ctl", "postgres", "pg_basebackup", "psql", "pg_isready"]

    let directory: String

    func path(_ program: String) -> String { directory + "/" + program }

    /// Finds the first directory holding every required program.
    ///
    /// Candidates, in order: each PATH entry holding `initdb` (and the directory its symlink resolves to, since
    /// Debian links only some programs into PATH), then `<versionedRoot>/<version>/bin`, highest version first.
    static func locate(
        path: String? = ProcessInfo.processInfo.environment["PATH"],
        versionedRoot: String = "/usr/lib/postgresql"
    ) throws(LocalClusterError) -> PostgresBinaries {
        let fileManager = FileManager.default
        var candidates: [String] = []
        for entry in (path ?? "").split(separator: ":").map(String.init) where !entry.isEmpty {
            let initdb = entry + "/initdb"
            guard fileManager.isExecutableFile(atPath: initdb) else { continue }
            let resolved = URL(fileURLWithPath: initdb).resolvingSymlinksInPath().deletingLastPathComponent().path
            candidates.append(resolved)
            candidates.append(entry)
        }
        let versions = (try? fileManager.contentsOfDirectory(atPath: versionedRoot)) ?? []
        for version in versions.sorted(by: { versionKey($0).lexicographicallyPrecedes(versionKey($1)) }).reversed() {
            candidates.append(versionedRoot + "/" + version + "/bin")
        }
        for directory in candidates
        where required.allSatisfy({ fileManager.isExecutableFile(atPath: directory + "/" + $0) }) {
            return PostgresBinaries(directory: directory)
        }
        let searched = candidates.isEmpty ? "PATH and \(versionedRoot)/*/bin" : candidates.joined(separator: ", ")
        throw .binariesMissing("need \(required.joined(separator: ", ")) in one directory; searched \(searched)")
    }

    /// "15" → [15], "9.6" → [9, 6]; anything else sorts lowest.
    private static func versionKey(_ name: String) -> [Int] {
        name.split(separator: ".").map { Int($0) ?? -1 }
    }
}
