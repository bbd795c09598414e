import Foundation

/// Finds the `pooltop` executable that `swift build` produced for this package.
///
/// The tests never build it themselves (a `swift build` from inside `swift test` would wait forever for
/// the build lock): run `swift build && swift test`. `POOLTOP_BINARY` overrides the search.
enum PooltopBinary {
    struct Missing: Error, CustomStringConvertible {
        var searched: [String]
        var description: String {
            "the pooltop executable was not found; run `swift build` (it builds pooltop and pooltop-attach) "
                + "before `swift test`. Searched: " + searched.joined(separator: ", ")
        }
    }

    /// The package root, derived from this source file: `<root>/Tests/EndToEndTests/Support/PooltopBinary.swift`.
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func candidates() -> [String] {
        var paths: [String] = []
        if let override = ProcessInfo.processInfo.environment["POOLTOP_BINARY"], !override.isEmpty {
            paths.append(override)
        }
        // The test bundle lives in `.build/<triple>/<config>/`, next to the executables of the same build.
        // On Linux `Bundle.main` is the test runner executable, or the directory holding it.
        for url in [Bundle.main.executableURL, Bundle.main.bundleURL].compactMap({ $0 }) {
            var directory = url
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) || !isDirectory.boolValue
                || url.lastPathComponent.hasSuffix(".xctest")
            {
                directory = url.deletingLastPathComponent()
            }
            paths.append(directory.appendingPathComponent("pooltop").path)
        }
        let build = packageRoot.appendingPathComponent(".build")
        paths.append(build.appendingPathComponent("debug/pooltop").path)
        let triples = (try? FileManager.default.contentsOfDirectory(atPath: build.path)) ?? []
        for triple in triples.sorted() where triple.contains("-") && !triple.contains(".") {
            paths.append(build.appendingPathComponent("\(triple)/debug/pooltop").path)
        }
        var seen = Set<String>()
        let unique = paths.filter { seen.insert($0).inserted }
        if TmuxPane.trace { print("[e2e] pooltop candidates: \(unique)") }
        return unique
    }

    /// The absolute path of the executable, or `Missing` naming every place searched.
    static func path() throws -> String {
        let all = candidates()
        for path in all {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                FileManager.default.isExecutableFile(atPath: path)
            {
                return URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            }
        }
        throw Missing(searched: all)
    }
}
