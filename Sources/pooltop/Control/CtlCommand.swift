import ArgumentParser
import AttachCommandLine
import ConnectionManager
import Foundation

/// `pooltop ctl SOCKET suspend|resume|evict|failover [--target N]|terminate ID|cancel PID|kill PID`: one command for
/// runbooks.
struct CtlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract:
            "Send one command to a service's pool: suspend, resume, evict, failover [--target N], terminate ID, cancel PID, kill PID.",
        discussion: """
            SOCKET is a control socket, or a pool name looked up in the control directory. The service runs the \
            command, records it as a pool event naming who sent it, and answers with a sentence, printed here. \
            cancel PID cancels the statement of server session PID (pg_cancel_backend) and kill PID ends it \
            (pg_terminate_backend), on the service's current server, as its database user. \
            Exit codes: 0 done, 1 refused by the service (the reason is printed) or the service does not answer, \
            2 bad input.
            """)

    @Argument(help: "The control socket (or a pool name).")
    var socket: String

    @Argument(help: "suspend | resume | evict | failover | terminate | cancel | kill")
    var command: String

    @Argument(
        help: "For terminate: the connection id (#17 or 17); for cancel and kill: the server session's pid.")
    var connectionID: String?

    @Option(name: .long, help: "For failover: the target index (0 = the primary URL, 1… the failover URLs).")
    var target: String?

    func run() throws {
        let monitorCommand = try Self.parse(command: command, id: connectionID, target: target)
        let resolution = try ControlEndpoints.resolve(
            [socket], command: "ctl", environment: ProcessInfo.processInfo.environment)
        guard resolution.sockets.count == 1 else {
            throw CommandFailure.badInput(
                "pooltop ctl: \(socket) is a directory of \(resolution.sockets.count) sockets; expected one socket "
                    + "(`pooltop ls` lists them).")
        }
        let reply: ControlClient.CommandReply
        do {
            reply = try ControlClient(socketPath: resolution.sockets[0], timeout: .seconds(10)).perform(monitorCommand)
        } catch {
            throw CommandFailure.failed("pooltop ctl: \(error.description)")
        }
        switch reply.status {
        case 200 where reply.succeeded:
            print(reply.message)
        case 400:
            throw CommandFailure.badInput("pooltop ctl: the service rejected the command: \(reply.message)")
        case 403:
            throw CommandFailure.failed("pooltop ctl: refused, this user may only read: \(reply.message)")
        default:
            throw CommandFailure.failed("pooltop ctl: refused: \(reply.message)")
        }
    }

    /// The command from the words typed, or a bad-input failure saying what was expected.
    static func parse(command: String, id: String?, target: String?) throws(CommandFailure) -> MonitorCommand {
        let known = "expected suspend, resume, evict, failover [--target N], terminate ID, cancel PID or kill PID"
        if target != nil && command != "failover" {
            throw .badInput("pooltop ctl: --target goes with failover only, not with \(command).")
        }
        if id != nil && !["terminate", "cancel", "kill"].contains(command) {
            throw .badInput("pooltop ctl: \(command) takes no argument, got \"\(id!)\"; \(known).")
        }
        switch command {
        case "suspend": return .suspend
        case "resume": return .resume
        case "evict": return .evictIdle
        case "failover":
            guard let target else { return .failover(toTarget: nil) }
            guard let index = Int(target), index >= 0 else {
                throw .badInput("pooltop ctl: --target is \"\(target)\"; expected a target index (0, 1, …).")
            }
            return .failover(toTarget: index)
        case "terminate":
            guard let id else {
                throw .badInput(
                    "pooltop ctl: terminate needs the connection id; expected a number, e.g. `pooltop ctl SOCKET terminate 17`."
                )
            }
            let digits = id.hasPrefix("#") ? String(id.dropFirst()) : id
            guard let number = Int(digits), number >= 0 else {
                throw .badInput("pooltop ctl: the connection id is \"\(id)\"; expected a number such as 17 or #17.")
            }
            return .terminateLeak(connectionID: number)
        case "cancel", "kill":
            guard let id else {
                throw .badInput(
                    "pooltop ctl: \(command) needs the server session's pid, e.g. `pooltop ctl SOCKET \(command) 4242`."
                )
            }
            guard let pid = Int32(id), pid > 0 else {
                throw .badInput("pooltop ctl: the pid is \"\(id)\"; expected a process id such as 4242.")
            }
            return command == "cancel" ? .cancelBackend(pid: pid) : .terminateBackend(pid: pid)
        default:
            throw .badInput("pooltop ctl: unknown command \"\(command)\"; \(known).")
        }
    }
}
