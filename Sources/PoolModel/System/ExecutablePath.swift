#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Paths of this process's executable and its neighbours, with the C library (no `Bundle`/`URL`: those are full
/// Foundation).
package enum ExecutablePath {
    /// This process's executable, symlinks resolved (`/proc/self/exe`, else `argv[0]`).
    package static func current() -> String? {
        realPath("/proc/self/exe") ?? CommandLine.arguments.first.flatMap(realPath)
    }

    /// `path` with symlinks, `.` and `..` resolved (`realpath(3)`); nil when it does not exist.
    package static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The directory part of an absolute path (`/` for `/x` and for `/`).
    package static func directory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }
}
