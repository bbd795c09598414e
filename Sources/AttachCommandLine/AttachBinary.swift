import PoolModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `pooltop-attach`, the lean binary that runs `pooltop attach`: the attached dashboard without libpq, the pool and
/// full Foundation (ARCHITECTURE.md, "Binaries"). `pooltop` checks the arguments, then replaces itself with it.
package enum AttachBinary {
    /// The file name; it is installed next to `pooltop`.
    package static let name = "pooltop-attach"

    /// `pooltop-attach` next to this process's executable, when it is there, executable, and not this executable.
    package static func sibling() -> String? {
        guard let current = ExecutablePath.current() else { return nil }
        let candidate = ExecutablePath.directory(of: current) + "/" + name
        guard access(candidate, X_OK) == 0, ExecutablePath.realPath(candidate) != current else { return nil }
        return candidate
    }

    /// Replaces this process with the sibling, with this process's own arguments (`argv` as it is now: passwords
    /// already blanked) and environment; same pid, same terminal. Returns only when there is no sibling or `execv`
    /// failed: the caller then attaches in this process.
    package static func handOff() {
        guard let path = sibling() else { return }
        _ = execv(path, CommandLine.unsafeArgv)
    }
}
