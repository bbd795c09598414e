import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reads /proc: children of a process and a process's scheduling state.
enum ProcessTable {
    /// The ids of the direct children of `parent`.
    ///
    /// Needed because every PostgreSQL backend leads its own process group, so a signal to the postmaster's group
    /// does not reach them.
    static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { stat(of: $0)?.parent == parent }
    }

    /// The state letter ("S", "R", "T", "Z"…) of `pid`, or nil when it no longer exists.
    static func state(of pid: Int32) -> Character? { stat(of: pid)?.state }

    /// Whether `pid` exists and is not a zombie.
    static func isAlive(_ pid: Int32) -> Bool {
        guard let state = state(of: pid) else { return false }
        return state != "Z" && state != "X"
    }

    private static func stat(of pid: Int32) -> (state: Character, parent: Int32)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // The command name may contain spaces and parentheses; the fields after the last ")" are plain.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 2, let state = fields[0].first, let parent = Int32(fields[1]) else { return nil }
        return (state, parent)
    }
}
