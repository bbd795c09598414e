import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEndTests {
    /// `pooltop attach` hands the dashboard to `pooltop-attach` (the lean binary next to `pooltop`): the process
    /// that draws the attached dashboard maps no libpq and no full Foundation / ICU. Without the lean binary next to
    /// it, `pooltop` attaches in its own process.
    @Suite("lean attach")
    struct LeanAttachTests {
        /// The file names of the shared objects a process maps (`/proc/PID/maps`), e.g. `libpq.so.5.17`.
        static func mappedLibraries(_ pid: Int32) throws -> Set<String> {
            // Read to the end: /proc files say they are empty, and String(contentsOfFile:) then reads only a part.
            let handle = try #require(FileHandle(forReadingAtPath: "/proc/\(pid)/maps"), "pid \(pid) has no maps")
            defer { try? handle.close() }
            let maps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
            var names = Set<String>()
            for line in maps.split(separator: "\n") {
                guard let path = line.split(separator: " ", omittingEmptySubsequences: true).last,
                    path.hasPrefix("/"), path.contains(".so")
                else { continue }
                names.insert(String(path.split(separator: "/").last ?? path))
            }
            return names
        }

        /// What must never be in the attached dashboard's process: libpq, full Foundation and the ICU it brings.
        static func heavy(_ libraries: Set<String>) -> [String] {
            libraries.filter { name in
                name.hasPrefix("libpq.so") || name.hasPrefix("libFoundation.so")
                    || name.hasPrefix("libFoundationInternationalization") || name.hasPrefix("lib_FoundationICU")
                    || name.hasPrefix("libicu") || name.hasPrefix("libFoundationNetworking")
            }.sorted()
        }

        static func executable(_ pid: Int32) -> String {
            var buffer = [CChar](repeating: 0, count: 4096)
            let count = readlink("/proc/\(pid)/exe", &buffer, buffer.count - 1)
            return count > 0 ? String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        }

        @Test(
            "pooltop attach runs as pooltop-attach, same pid: no libpq, no libFoundation.so, no ICU mapped",
            .timeLimit(.minutes(3)))
        func attachedProcessIsLean() throws {
            let cluster = try SharedCluster.get()
            let runtime = PrivateDirectory("lean")
            let socket = "\(runtime.path)/lean.sock"
            let service = try ExampleService(
                databaseURL: cluster.primary.url, socket: socket, poolName: "e2e-lean", runtimeDirectory: runtime.path)
            defer { service.stop() }
            let lean = URL(fileURLWithPath: try PooltopBinary.path()).deletingLastPathComponent()
                .appendingPathComponent("pooltop-attach").path
            try #require(
                FileManager.default.isExecutableFile(atPath: lean),
                "\(lean) is missing: `swift build` builds it (`swift build --product pooltop` alone does not)")
            // The check itself can see libpq: the service (ConnectionManager) maps it.
            #expect(Self.heavy(try Self.mappedLibraries(service.pid)).contains { $0.hasPrefix("libpq.so") })

            let pane = try TmuxPane(
                width: 80, height: 24, command: [try PooltopBinary.path(), "attach", socket, "--refresh", "250ms"])
            defer { pane.kill() }
            try pane.waitFor("the service's header and its leak") {
                $0.contains("pid \(service.pid) pool e2e-lean") && $0.contains("Leaks 1")
            }
            // Everything the attached screen does: the leak's stack (read from the service), the picker, a filter.
            try pane.send("Enter")
            try pane.waitFor("the checkout stack from the service", timeout: .seconds(15)) {
                $0.contains("main.swift:")
            }
            try pane.send("Escape")
            try pane.waitFor("the detail view to close", timeout: .seconds(10)) { !$0.contains("Esc back") }

            let pid = try pane.programPID()
            #expect(Self.executable(pid).hasSuffix("/pooltop-attach"), "pid \(pid) runs \(Self.executable(pid))")
            let libraries = try Self.mappedLibraries(pid)
            #expect(Self.heavy(libraries).isEmpty, "pooltop attach maps \(Self.heavy(libraries))")
            #expect(libraries.contains { $0.hasPrefix("libncursesw") || $0.hasPrefix("libtinfo") }, "\(libraries)")

            try pane.send("q")
            #expect(try pane.waitForExit() == 0)
        }

        @Test(
            "without pooltop-attach next to it, pooltop attaches in its own process (libpq mapped, same screen)",
            .timeLimit(.minutes(3)))
        func fallbackAttachesInProcess() throws {
            let cluster = try SharedCluster.get()
            let runtime = PrivateDirectory("lean-fallback")
            let socket = "\(runtime.path)/fallback.sock"
            let service = try ExampleService(
                databaseURL: cluster.primary.url, socket: socket, poolName: "e2e-fallback",
                runtimeDirectory: runtime.path)
            defer { service.stop() }
            // pooltop alone in a directory (a copy: a symlink resolves back to the build folder and its sibling).
            let alone = "\(runtime.path)/bin"
            mkdir(alone, 0o700)
            let copy = "\(alone)/pooltop"
            try FileManager.default.copyItem(atPath: try PooltopBinary.path(), toPath: copy)

            let pane = try TmuxPane(width: 80, height: 24, command: [copy, "attach", socket, "--refresh", "250ms"])
            defer { pane.kill() }
            try pane.waitFor("pid \(service.pid) pool e2e-fallback")
            let pid = try pane.programPID()
            #expect(Self.executable(pid) == copy)
            #expect(Self.heavy(try Self.mappedLibraries(pid)).contains { $0.hasPrefix("libpq.so") })
            try pane.send("q")
            #expect(try pane.waitForExit() == 0)
        }

        @Test("bad input exits 2 from pooltop itself, before any hand-off; --help is pooltop's")
        func badInputBeforeHandOff() throws {
            let bad = try AttachTests.pooltop(["attach", "/nonexistent/x.sock", "--refresh", "10ms"])
            #expect(bad.exitCode == 2, "\(bad.stderr)")
            #expect(bad.stderr.contains("--refresh"), "\(bad.stderr)")
            let load = try AttachTests.pooltop(["attach", "--load", "3"])
            #expect(load.exitCode == 2, "\(load.stderr)")
            #expect(load.stderr.contains("attach only watches a service"), "\(load.stderr)")
            let help = try AttachTests.pooltop(["attach", "--help"])
            #expect(help.exitCode == 0)
            #expect(help.stdout.contains("USAGE: pooltop attach"), "\(help.stdout)")
            // The lean binary says the same for the same input.
            let lean = URL(fileURLWithPath: try PooltopBinary.path()).deletingLastPathComponent()
                .appendingPathComponent("pooltop-attach").path
            let leanBad = try Subprocess.run(
                [lean, "attach", "/nonexistent/x.sock", "--refresh", "10ms"], environment: [:],
                removing: ["POOLTOP_ATTACH"], timeout: .seconds(60))
            #expect(leanBad.exitCode == 2)
            #expect(leanBad.stderr == bad.stderr)
        }
    }
}
