import Foundation
import LocalCluster
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEndTests {
    /// Passwords never visible to other local users: not in `/proc/PID/cmdline` of pooltop, not in the
    /// environment of the demo's servers, not in any output.
    @Suite("secrets")
    struct SecretsTests {
        @Test("passwords given with --url and --failover-url are blanked in /proc/PID/cmdline", .timeLimit(.minutes(1)))
        func passwordsBlankedInCommandLine() throws {
            // A port that accepts TCP connections (the kernel's backlog) but never answers: `status` stays in its
            // connect until the deadline, and the connection arriving here says it is past parsing its arguments.
            let listener = try ListeningSocket()
            let pid = try spawn([
                try PooltopBinary.path(), "status", "--url", "postgresql://u:SECRETPW1@127.0.0.1:\(listener.port)/d",
                "--failover-url=postgresql://u:SECRETPW2@127.0.0.1:\(listener.port + 1)/d", "--connect-timeout", "20s",
            ])
            defer {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                _ = waitpid(pid, &status, 0)
            }
            try #require(listener.waitForConnection(timeout: .seconds(20)), "pooltop connected")
            let data = try #require(FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"))
            let commandLine = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            #expect(!commandLine.contains("SECRETPW"), "\(commandLine)")
            #expect(commandLine.contains("--url postgresql://u:"), "the rest stays readable: \(commandLine)")
            #expect(commandLine.contains("@127.0.0.1:\(listener.port)/d"), "\(commandLine)")
            #expect(commandLine.contains("--failover-url=postgresql://u:"), "\(commandLine)")
        }

        @Test(
            "status --json: a password the server echoes (nested dbname) is scrubbed; so is a misspelled key",
            .timeLimit(.minutes(1)))
        func statusScrubsEchoedPasswords() throws {
            let cluster = try SharedCluster.get()
            let port = cluster.primary.port
            let nested = "host=127.0.0.1 port=\(port) user=postgres dbname='host=x password=PLANTED1'"
            let result = try CommandLineTests.pooltop(["status", "--json", "--url", nested])
            #expect(result.exitCode == 1, "stderr: \(result.stderr)")
            #expect(result.stdout.contains("does not exist"), "the server's own text: \(result.stdout)")
            #expect(!(result.stdout + result.stderr).contains("PLANTED"), "\(result.stdout)\n\(result.stderr)")

            let misspelled = "postgresql://postgres@127.0.0.1:\(port)/postgres?pasword=PLANTED2"
            let refused = try CommandLineTests.pooltop(["status", "--json", "--url", misspelled])
            #expect(refused.exitCode == 2, "libpq refuses the unknown key: \(refused.stderr)")
            #expect(refused.stderr.contains("--url"))
            #expect(!(refused.stdout + refused.stderr).contains("PLANTED"), "\(refused.stderr)")

            let slash = "postgresql://u:PLANTED3/x@127.0.0.1:\(port)/postgres"
            let advised = try CommandLineTests.pooltop(["status", "--url", slash])
            #expect(advised.exitCode == 2)
            #expect(advised.stderr.contains("%2F"), "\(advised.stderr)")
            #expect(!(advised.stdout + advised.stderr).contains("PLANTED"), "\(advised.stderr)")
        }

        @Test("--failover-url keeps a multi-host URL whole (commas are not separators)", .timeLimit(.minutes(1)))
        func multiHostFailoverURL() throws {
            let cluster = try SharedCluster.get()
            let standby = try #require(cluster.standby)
            let multiHost = "postgresql://postgres@127.0.0.1:\(standby.port),127.0.0.1:\(try closedPort())/postgres"
            let result = try CommandLineTests.pooltop([
                "status", "--json", "--url", cluster.primary.url, "--failover-url", multiHost,
            ])
            #expect(result.exitCode == 0, "stderr: \(result.stderr)")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let failover = try #require(object["failover_stats"] as? [String: Any])
            let targets = try #require(failover["targets"] as? [[String: Any]])
            #expect(targets.count == 2, "the primary and one (multi-host) failover target: \(targets)")

            // A comma followed by a keyword would separate targets in DATABASE_FAILOVER_URLS; a flag is never split.
            let keyword =
                "host=127.0.0.1 port=\(standby.port) user=postgres dbname=postgres application_name=a,host=elsewhere"
            let kept = try CommandLineTests.pooltop([
                "status", "--json", "--url", cluster.primary.url, "--failover-url", keyword,
            ])
            #expect(kept.exitCode == 0, "stderr: \(kept.stderr)")
            #expect(kept.stdout.contains("application_name=a,host=elsewhere"), "\(kept.stdout)")
        }
    }
}

/// Starts `command` with stdin, stdout and stderr on /dev/null; returns its pid (the caller reaps it).
private func spawn(_ command: [String]) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var env = ProcessInfo.processInfo.environment
    for name in ["DATABASE_URL", "DATABASE_FAILOVER_URLS"] { env.removeValue(forKey: name) }
    let argv = command.map { strdup($0) } + [nil]
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, envp)
    guard spawned == 0 else {
        throw Subprocess.Failure(description: "cannot start \(command[0]): \(String(cString: strerror(spawned)))")
    }
    return pid
}

/// A TCP socket on 127.0.0.1 that listens but never reads: connects succeed, then nothing answers.
private final class ListeningSocket {
    let fd: Int32
    let port: Int

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Subprocess.Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = self.fd
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
                    && listen(fd, 16) == 0
            }
        }
        guard bound else {
            close(fd)
            throw Subprocess.Failure(description: "bind/listen: \(String(cString: strerror(errno)))")
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Accepts one connection (and keeps it open, unanswered); false when none arrives in time.
    func waitForConnection(timeout: Duration) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(timeout.components.seconds * 1000)
        guard poll(&entry, 1, milliseconds) > 0 else { return false }
        return accept(fd, nil, nil) >= 0
    }

    deinit { close(fd) }
}
