import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a program to completion with a deadline and captures its stdout and stderr separately.
///
/// `posix_spawn` + `waitpid` rather than `Foundation.Process`: a daemon started by the child (the tmux
/// server) would inherit Process's private socket and hide the child's exit. The child gets stdin from
/// /dev/null (or `stdinPath`), stdout and stderr in unlinked temporary files, and no other descriptor.
enum Subprocess {
    struct Result: Sendable {
        var exitCode: Int32
        var stdout: String
        var stderr: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func run(
        _ command: [String], environment: [String: String] = [:], removing: [String] = [],
        stdoutPath: String? = nil, timeout: Duration = .seconds(30)
    ) throws -> Result {
        let out = try temporaryFile()
        let err = try temporaryFile()
        defer {
            close(out)
            close(err)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let stdoutPath {
            posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, out, 1)
        }
        posix_spawn_file_actions_adddup2(&actions, err, 2)
        if let closeFrom { _ = closeFrom(&actions, 3) }

        var env = ProcessInfo.processInfo.environment
        for name in removing { env.removeValue(forKey: name) }
        env.merge(environment) { _, new in new }
        let argv = command.map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }

        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, command[0], &actions, nil, argv, envp)
        guard spawned == 0 else {
            throw Failure(description: "cannot start \(command[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR {
                throw Failure(description: "waitpid: \(String(cString: strerror(errno)))")
            }
            if clock.now >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw Failure(
                    description: "`\(command.joined(separator: " "))` did not finish within \(timeout); "
                        + "stdout: \(read(out)) stderr: \(read(err))")
            }
            usleep(5_000)
        }
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(exitCode: exitCode, stdout: read(out), stderr: read(err))
    }

    private static func temporaryFile() throws -> Int32 {
        var template = Array("/tmp/pooltop-e2e-output-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw Failure(description: "mkstemp: \(String(cString: strerror(errno)))") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return fd
    }

    private static func read(_ fd: Int32) -> String {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var offset: off_t = 0
        while true {
            let count = pread(fd, &buffer, buffer.count, offset)
            guard count > 0 else { break }
            data.append(contentsOf: buffer[..<count])
            offset += off_t(count)
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift's Glibc module does not export.
    private static let closeFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: CloseFrom.self) }
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
}

/// Quotes a word for `/bin/sh`.
func shellQuote(_ word: String) -> String {
    "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
