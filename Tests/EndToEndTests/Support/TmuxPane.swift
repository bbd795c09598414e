import Foundation
import Glibc
import Synchronization

/// One program running in a detached tmux session on a private tmux server (`tmux -L <name>`).
///
/// Tests read the screen with `capture-pane -p`, poll for what they expect with a deadline (never a fixed
/// sleep), type with `send-keys`, and call `kill()` (from `defer`) to end the session and that server.
final class TmuxPane {
    struct Timeout: Error, CustomStringConvertible {
        var what: String
        var timeout: Duration
        var lastScreen: String
        var description: String {
            "timed out after \(timeout) waiting for \(what); last screen:\n\(lastScreen)"
        }
    }

    struct CommandFailed: Error, CustomStringConvertible {
        var description: String
    }

    let name: String
    let configPath: String
    /// Where the pane's shell writes the program's exit status.
    let statusPath: String
    private(set) var isKilled = false
    /// The tmux server and the pane's process group, so `kill()` can end them even when `kill-server` cannot
    /// (seen: servers left running with their pooltop after a passing run).
    private var serverPID: pid_t = 0
    private var panePID: pid_t = 0

    private static let counter = Atomic<Int>(0)
    /// `POOLTOP_E2E_TRACE=1` prints how long each wait took.
    static let trace = ProcessInfo.processInfo.environment["POOLTOP_E2E_TRACE"] == "1"

    /// Environment of the tmux client and server: UTF-8, nothing inherited from an enclosing tmux.
    static let clientEnvironment = ["LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"]

    /// Starts `command` (argv) in a `width`×`height` pane. The pane stays after the program exits
    /// (`remain-on-exit`), so that its exit status and terminal modes can be read.
    init(
        width: Int, height: Int, command: [String], environment: [String: String] = [:], unsetting: [String] = []
    ) throws {
        name = "pooltop-e2e-\(getpid())-\(Self.counter.add(1, ordering: .relaxed).newValue)"
        configPath = "/tmp/\(name).conf"
        let config = """
            set -g remain-on-exit on
            set -g status off
            set -g default-terminal tmux-256color
            set -g history-limit 100
            """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        statusPath = "/tmp/\(name).status"
        // Variables that would redirect pooltop elsewhere are removed; crashes must not wait for a key.
        var env = ["SWIFT_BACKTRACE": "interactive=no", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"]
        env.merge(environment) { _, new in new }
        let unset =
            [
                "DATABASE_URL", "DATABASE_FAILOVER_URLS", "NO_COLOR", "POOLTOP_THEME", "POOLTOP_REFRESH",
                "DB_POOL_SIZE", "DB_MAX_OVERFLOW", "DB_LEAK_THRESHOLD", "DB_HEALTH_CHECK_INTERVAL",
            ] + unsetting
        // A shell stays in the pane and writes the exit status to a file. `#{pane_dead_status}` alone is not
        // reliable: Debian's tmux calls libutempter, which sets SIGCHLD to SIG_DFL while its helper runs, so a
        // pane that exits at that moment stays a zombie and its status never shows.
        let script = "\"$0\" \"$@\"; s=$?; echo $s > \(shellQuote(statusPath)); exit $s"
        let shell =
            "exec env " + unset.map { "-u \($0) " }.joined()
            + env.sorted { $0.key < $1.key }.map { shellQuote("\($0.key)=\($0.value)") }.joined(separator: " ")
            + " /bin/sh -c " + shellQuote(script) + " " + command.map(shellQuote).joined(separator: " ")
        try tmux(["-f", configPath, "new-session", "-d", "-s", name, "-x", String(width), "-y", String(height), shell])
        let ids =
            (try? tmux(["display", "-p", "-t", name, "#{pid} #{pane_pid}"]))?
            .split(whereSeparator: \.isWhitespace).compactMap { pid_t($0) } ?? []
        if ids.count == 2 {
            serverPID = ids[0]
            panePID = ids[1]
        }
    }

    deinit { kill() }

    /// Runs a tmux command on this server; returns its stdout.
    @discardableResult
    func tmux(_ arguments: [String]) throws -> String {
        let result = try Subprocess.run(
            ["tmux", "-u", "-L", name] + arguments, environment: Self.clientEnvironment, removing: ["TMUX"],
            timeout: .seconds(20))
        guard result.exitCode == 0 else {
            throw CommandFailed(
                description: "tmux \(arguments.joined(separator: " ")) exited \(result.exitCode): \(result.stderr)")
        }
        return result.stdout
    }

    /// The visible screen, one line per row, trailing blanks trimmed by tmux.
    func screen() throws -> String {
        try tmux(["capture-pane", "-p", "-t", name])
    }

    /// A tmux format, e.g. `#{alternate_on} #{cursor_flag}`.
    func display(_ format: String) throws -> String {
        try tmux(["display-message", "-p", "-t", name, format]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Polls the screen every 50 ms until `predicate` holds; returns that screen.
    @discardableResult
    func waitFor(
        _ what: String, timeout: Duration = .seconds(30), _ predicate: (String) throws -> Bool
    ) throws -> String {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var last = ""
        while true {
            last = try screen()
            if try predicate(last) {
                if Self.trace { print("[e2e \(name)] \(what): \(clock.now - deadline + timeout)") }
                return last
            }
            if clock.now >= deadline { throw Timeout(what: what, timeout: timeout, lastScreen: last) }
            usleep(50_000)
        }
    }

    /// Waits until every one of `texts` is on screen.
    @discardableResult
    func waitFor(all texts: [String], timeout: Duration = .seconds(30)) throws -> String {
        try waitFor(texts.map { "\"\($0)\"" }.joined(separator: ", "), timeout: timeout) { screen in
            texts.allSatisfy(screen.contains)
        }
    }

    /// Waits until `text` is on screen.
    @discardableResult
    func waitFor(_ text: String, timeout: Duration = .seconds(30)) throws -> String {
        try waitFor(all: [text], timeout: timeout)
    }

    /// Sends keys by tmux name (`Enter`, `Escape`, `Tab`, `Down`, `q`…), one argument per key.
    func send(_ keys: String...) throws {
        try tmux(["send-keys", "-t", name] + keys)
    }

    func resize(width: Int, height: Int) throws {
        try tmux(["resize-window", "-t", name, "-x", String(width), "-y", String(height)])
    }

    /// The pid of the program in the pane: the child of the pane's shell.
    func programPID() throws -> Int32 {
        let text = try display("#{pane_pid}")
        guard let shell = Int32(text) else { throw CommandFailed(description: "pane_pid is \"\(text)\"") }
        let children = (try? String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)) ?? ""
        guard let pid = children.split(separator: " ").first.flatMap({ Int32($0) }) else {
            throw CommandFailed(description: "the pane's shell \(shell) has no child")
        }
        return pid
    }

    /// Waits for the program to exit and returns its exit status (128 + n after signal n).
    func waitForExit(timeout: Duration = .seconds(30)) throws -> Int32 {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            if let text = try? String(contentsOfFile: statusPath, encoding: .utf8),
                let status = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                // The shell exits right after writing; wait for tmux to see the pane die.
                _ = try? waitFor("the pane to die", timeout: .seconds(5)) { _ in
                    (try? self.display("#{pane_dead}")) == "1"
                }
                return status
            }
            if clock.now >= deadline {
                throw Timeout(what: "the program to exit", timeout: timeout, lastScreen: (try? screen()) ?? "")
            }
            usleep(50_000)
        }
    }

    /// Ends the session and this tmux server; removes its config file and socket. Idempotent.
    func kill() {
        guard !isKilled else { return }
        isKilled = true
        // The pane runs in its own process group (tmux makes it a session leader): SIGTERM lets pooltop restore
        // the terminal and stop a demo cluster; whatever is left after 5 s is killed.
        let isPaneDead = (try? tmux(["display", "-p", "-t", name, "#{pane_dead}"]))?.hasPrefix("1") ?? false
        if panePID > 0 && !isPaneDead {
            Glibc.kill(-panePID, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(5)
            while Glibc.kill(-panePID, 0) == 0 && ContinuousClock.now < deadline { usleep(50_000) }
            Glibc.kill(-panePID, SIGKILL)
        }
        _ = try? Subprocess.run(
            ["tmux", "-L", name, "kill-server"], environment: Self.clientEnvironment, removing: ["TMUX"],
            timeout: .seconds(10))
        if serverPID > 0 { Glibc.kill(serverPID, SIGKILL) }
        try? FileManager.default.removeItem(atPath: configPath)
        try? FileManager.default.removeItem(atPath: statusPath)
        try? FileManager.default.removeItem(atPath: "/tmp/tmux-\(getuid())/\(name)")
    }
}
