import Foundation
import Testing

@testable import ConnectionManager

#if canImport(Glibc)
    import Glibc
#endif

/// The per-user directory rule, file names, listing sockets, and what an existing file at the path means.
@Suite("ControlSocketPath")
struct ControlSocketPathTests {
    @Test func directoryRule() {
        #expect(ControlSocketPath.directory(runtimeDirectory: "/run/user/1000", uid: 1000) == "/run/user/1000/pooltop")
        #expect(ControlSocketPath.directory(runtimeDirectory: "/run/user/1000/", uid: 1000) == "/run/user/1000/pooltop")
        #expect(ControlSocketPath.directory(runtimeDirectory: nil, uid: 1000) == "/tmp/pooltop-1000")
        // XDG_RUNTIME_DIR only counts when it is absolute and a directory owned by this uid.
        let mine = ControlTests.directory()
        #expect(
            ControlSocketPath.defaultDirectory(environment: ["XDG_RUNTIME_DIR": mine], uid: getuid()) == mine
                + "/pooltop")
        #expect(
            ControlSocketPath.defaultDirectory(environment: ["XDG_RUNTIME_DIR": "relative"], uid: 77)
                == "/tmp/pooltop-77")
        #expect(
            ControlSocketPath.defaultDirectory(environment: ["XDG_RUNTIME_DIR": mine], uid: 4242) == "/tmp/pooltop-4242"
        )
        #expect(ControlSocketPath.defaultDirectory(environment: [:], uid: 4242) == "/tmp/pooltop-4242")
    }

    @Test func directoryProblems() {
        #expect(ControlSocketPath.directoryProblem(.directory(owner: 1000, mode: 0o700), uid: 1000) == nil)
        #expect(ControlSocketPath.directoryProblem(.directory(owner: 1000, mode: 0o750), uid: 1000) != nil)
        #expect(ControlSocketPath.directoryProblem(.directory(owner: 1000, mode: 0o701), uid: 1000) != nil)
        #expect(ControlSocketPath.directoryProblem(.directory(owner: 0, mode: 0o700), uid: 1000) != nil)
        #expect(ControlSocketPath.directoryProblem(.other, uid: 1000) != nil)
        #expect(ControlSocketPath.directoryProblem(.missing, uid: 1000) != nil)
    }

    @Test func prepareCreates0700AndRefusesAWideOrForeignOne() throws {
        let parent = ControlTests.directory()
        let directory = parent + "/pooltop"
        try ControlSocketPath.prepareDirectory(directory, uid: getuid())
        var info = stat()
        #expect(stat(directory, &info) == 0 && info.st_mode & 0o777 == 0o700)
        chmod(directory, 0o755)
        #expect(throws: ControlSocketError.self) { try ControlSocketPath.prepareDirectory(directory, uid: getuid()) }
        chmod(directory, 0o700)
        #expect(throws: ControlSocketError.self) {
            try ControlSocketPath.prepareDirectory(directory, uid: getuid() + 1)
        }
        // A symlink to a good directory is refused (lstat).
        let link = parent + "/link"
        symlink(directory, link)
        #expect(throws: ControlSocketError.self) { try ControlSocketPath.prepareDirectory(link, uid: getuid()) }
    }

    @Test func fileNames() {
        #expect(ControlSocketPath.fileName(poolName: "orders", pid: 4242) == "orders.4242.sock")
        #expect(ControlSocketPath.parse(fileName: "orders.4242.sock")! == ("orders", 4242))
        #expect(ControlSocketPath.parse(fileName: "orders.v2.4242.sock")! == ("orders.v2", 4242))
        #expect(ControlSocketPath.parse(fileName: "orders.sock") == nil)
        #expect(ControlSocketPath.parse(fileName: "orders.x.sock") == nil)
        #expect(ControlSocketPath.parse(fileName: "orders.4242") == nil)
        #expect(ControlSocketPath.parse(fileName: "a b.1.sock") == nil)
    }

    @Test func socketsInADirectoryAreListedOthersSkipped() throws {
        let directory = ControlTests.directory()
        let first = try UnixSocket.listen(at: directory + "/b.20.sock", backlog: 1)
        let second = try UnixSocket.listen(at: directory + "/custom.sock", backlog: 1)
        defer {
            UnixSocket.close(first)
            UnixSocket.close(second)
        }
        _ = FileManager.default.createFile(atPath: directory + "/a.10.sock", contents: Data())  // not a socket
        _ = FileManager.default.createFile(atPath: directory + "/notes.txt", contents: Data())
        let found = ControlSocketPath.sockets(in: directory)
        #expect(
            found == [
                .init(path: directory + "/b.20.sock", poolName: "b", pid: 20),
                .init(path: directory + "/custom.sock", poolName: nil, pid: nil),
            ])
        #expect(ControlSocketPath.sockets(in: directory + "/missing").isEmpty)
    }

    @Test func livenessOfASocketFile() throws {
        let directory = ControlTests.directory()
        let path = directory + "/l.sock"
        let fd = try UnixSocket.listen(at: path, backlog: 1)
        #expect(UnixSocket.liveness(of: path) == .live)
        UnixSocket.close(fd)
        #expect(UnixSocket.liveness(of: path) == .stale)
        #expect(UnixSocket.liveness(of: directory + "/none.sock") == .stale)
    }
}
