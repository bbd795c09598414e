import Dispatch
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The control endpoint's shell: a Unix socket, Dispatch sources and the connections on it. Every decision is a
/// value elsewhere (``PeerAccess``, ``HTTPRequestParser``, ``ControlRouter``); this file accepts, reads,
/// writes and closes.
///
/// Threads: accepting, reading, parsing, routing and polls (`info`, `snapshot`, `status`: the manager's two
/// short locks, no I/O) run on one serial queue. Commands, which may block (probes, `pg_terminate_backend`),
/// run one at a time on a command queue of their own, and stacks (symbolication takes milliseconds) on a
/// utility queue, so polls keep flowing while they run. The checkout path is never touched.
final class ControlEndpoint: Sendable {
    /// Limits of one endpoint (the protocol's by default).
    struct Limits: Sendable {
        var http = HTTPLimits()
        /// The whole request must arrive within this (408 otherwise).
        var readDeadline: Duration = .seconds(5)
        /// A response not taken by the peer within this is dropped with the connection.
        var writeDeadline: Duration = .seconds(5)
        /// Open connections; one more gets 503 and is closed.
        var maxConnections = 32
    }

    /// The socket's path.
    let path: String
    let policy: PeerAccess.Policy
    let limits: Limits
    private let listener: Int32
    private let identity: (device: UInt64, inode: UInt64)
    weak let service: (any ControlService)?
    let logger: Logger
    let queue = DispatchQueue(label: "pooltop.control")
    let commandQueue = DispatchQueue(label: "pooltop.control.commands")
    // Safety: a Dispatch source is a thread-safe object; the reference never changes.
    nonisolated(unsafe) private let acceptSource: DispatchSourceRead
    /// Mutable state, touched only on `queue`.
    private let state: QueueConfined<State>

    struct State {
        var connections: [ObjectIdentifier: ControlConnection] = [:]
        var refusals = RefusalLogLimiter()
        var isStopped = false
    }

    /// Binds and starts listening at the configured place (see docs/CONTROL-PROTOCOL.md "Turning it on").
    static func start(
        setting: ControlSocketSetting, poolName: String, group: ControlGroupSetting?, groupCanAct: Bool,
        service: any ControlService, logger: Logger, limits: Limits = Limits()
    ) throws(ControlSocketError) -> ControlEndpoint {
        let uid = getuid()
        let path: String
        switch setting {
        case .off:
            throw .socket("off", "the endpoint is off")
        case .auto:
            let directory = ControlSocketPath.defaultDirectory(uid: uid)
            try ControlSocketPath.prepareDirectory(directory, uid: uid)
            path = directory + "/" + ControlSocketPath.fileName(poolName: poolName, pid: getpid())
        case .path(let given):
            path = given
            let parent = ControlSocketPath.directoryName(of: given)
            guard case .directory = ControlSocketPath.inspect(parent) else {
                throw .socket(given, "its directory \(parent) does not exist or is not a directory")
            }
        }
        guard path.utf8.count <= ControlSocketPath.maxPathLength else {
            throw .socket(
                path, "the path is longer than \(ControlSocketPath.maxPathLength) bytes (a Unix socket limit)")
        }
        let gid = try group.map { (g) throws(ControlSocketError) in try ControlSocketPath.resolve(g) }
        let policy = PeerAccess.Policy(ownerUID: uid, group: gid, groupCanAct: groupCanAct)

        // What is there already: nothing, a stale socket (replace it), a live one (refuse), anything else (refuse).
        var stale: (device: UInt64, inode: UInt64)?
        switch ControlSocketPath.inspect(path) {
        case .missing: break
        case .socket(let device, let inode):
            switch UnixSocket.liveness(of: path) {
            case .live: throw .live(path)
            case .stale: stale = (device, inode)
            case .unknown(let error):
                throw .socket(path, "a socket is there and cannot be probed (\(error)); it was left alone")
            }
        case .directory, .other: throw .notASocket(path)
        }

        // Bind in a private directory, set the mode, then link into place: never reachable with a wider mode.
        let privateDirectory = try ControlSocketPath.makePrivateDirectory(near: path)
        let temporary = privateDirectory + "/s"
        defer { ControlSocketPath.removePrivateDirectory(privateDirectory, socket: temporary) }
        let fd: Int32
        do {
            fd = try UnixSocket.listen(at: temporary, backlog: 64)
        } catch {
            throw .socket(path, "cannot listen: \(error)")
        }
        do {
            try ControlSocketPath.setPermissions(temporary, mode: gid == nil ? 0o600 : 0o660, group: gid)
            if let stale {
                ControlSocketPath.removeIfOurs(path, device: stale.device, inode: stale.inode)
                logger.info("Replaced the stale control socket \(path) (no process answered on it).")
            }
            try ControlSocketPath.link(temporary, to: path)
        } catch {
            UnixSocket.close(fd)
            throw error
        }
        guard case .socket(let device, let inode) = ControlSocketPath.inspect(path) else {
            UnixSocket.close(fd)
            throw .socket(path, "it vanished right after it was created")
        }
        let endpoint = ControlEndpoint(
            path: path, listener: fd, identity: (device, inode), policy: policy, limits: limits, service: service,
            logger: logger)
        ControlSocketCleanup.register(path, device: device, inode: inode)
        endpoint.acceptSource.resume()
        return endpoint
    }

    private init(
        path: String, listener: Int32, identity: (device: UInt64, inode: UInt64), policy: PeerAccess.Policy,
        limits: Limits, service: any ControlService, logger: Logger
    ) {
        self.path = path
        self.listener = listener
        self.identity = identity
        self.policy = policy
        self.limits = limits
        self.service = service
        self.logger = logger
        state = QueueConfined(State(), queue: queue)
        acceptSource = DispatchSource.makeReadSource(fileDescriptor: listener, queue: queue)
        acceptSource.setEventHandler { [weak self] in self?.acceptPending() }
        acceptSource.setCancelHandler { UnixSocket.close(listener) }
    }

    /// Stops accepting, closes every connection, removes the socket file if it is still ours. Idempotent.
    /// Commands still running finish; their answers are dropped.
    func stop() {
        let connections = queue.sync { () -> [ControlConnection] in
            state.update { s in
                guard !s.isStopped else { return [] }
                s.isStopped = true
                acceptSource.cancel()
                defer { s.connections = [:] }
                return Array(s.connections.values)
            }
        }
        queue.sync { for connection in connections { connection.close() } }
        ControlSocketPath.removeIfOurs(path, device: identity.device, inode: identity.inode)
        ControlSocketCleanup.unregister(path)
    }

    // MARK: Accepting (on `queue`)

    private func acceptPending() {
        while let fd = UnixSocket.accept(listener) {
            admit(fd)
        }
    }

    private func admit(_ fd: Int32) {
        guard let credentials = UnixSocket.peerCredentials(fd) else {
            UnixSocket.close(fd)
            return
        }
        var peer = ControlPeer(uid: credentials.uid, gid: credentials.gid, pid: credentials.pid)
        // Supplementary groups matter only for a configured group the peer is not in by its own uid or gid.
        if let group = policy.group, peer.uid != policy.ownerUID, peer.uid != 0, peer.gid != group {
            peer.groups = UnixSocket.peerGroups(fd) ?? ControlPeerFacts.groups(pid: peer.pid)
        }
        let access = PeerAccess.decide(peer, policy: policy)
        guard access != .refused else {
            // Logged before the close: the peer exits once it sees the socket closed, and its program name
            // (`/proc/<pid>/comm`) goes with it (CI's security test once logged "?" instead of "curl").
            logRefusal(peer)
            UnixSocket.close(fd)
            return
        }
        let isFull = state.update { $0.connections.count >= limits.maxConnections || $0.isStopped }
        if isFull {
            // Best effort: one non-blocking write of the whole (small) response, then close.
            let busy = HTTPResponse.error(
                .unavailable, "Too many open control connections (\(limits.maxConnections)); try again.")
            _ = UnixSocket.write(fd, busy.bytes[...])
            UnixSocket.shutdownBoth(fd)
            UnixSocket.close(fd)
            return
        }
        let connection = ControlConnection(fd: fd, peer: peer, access: access, endpoint: self)
        state.update { $0.connections[ObjectIdentifier(connection)] = connection }
        connection.start()
    }

    /// Logs a refused peer (at most one line per 10 s); reads its program name only for a line it writes, so a
    /// flood of refused connections costs no `/proc` read each.
    private func logRefusal(_ peer: ControlPeer) {
        let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
        guard let unlogged = state.update({ $0.refusals.refusal(at: now) }) else { return }
        var peer = peer
        peer.program = ControlPeerFacts.program(pid: peer.pid)
        let more = unlogged > 0 ? " (\(unlogged) more refused since the last such line)" : ""
        logger.warning(
            "Control socket \(path): refused \(peer): it is not uid \(policy.ownerUID), root or in the control group.\(more)",
            metadata: ["peer_uid": "\(peer.uid)", "peer_pid": "\(peer.pid)", "peer_program": "\(peer.program)"])
    }

    /// Called by a connection when it is done (on `queue`).
    func connectionFinished(_ connection: ControlConnection) {
        state.update { _ = $0.connections.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    /// Open connections right now (tests).
    var openConnectionCount: Int { queue.sync { state.update { $0.connections.count } } }

    // MARK: Serving (called by connections on `queue`)

    /// Serves `request` for a connection; `reply` is called on `queue` with the response.
    func serve(
        _ request: HTTPRequest, peer: ControlPeer, access: PeerAccess, reply: @escaping @Sendable (HTTPResponse) -> Void
    ) {
        let action = ControlRouter.route(request, access: access)
        guard let service else {
            reply(.error(.unavailable, "The service is shutting down."))
            return
        }
        switch action {
        case .respond(let response):
            reply(response)
        case .info:
            reply(ControlRouter.infoResponse(service.controlInfo(access: access, socket: path)))
        case .snapshot(let eventsAfter, let healthAfter):
            let taken = service.controlSnapshot()
            reply(
                ControlRouter.snapshotResponse(
                    taken.snapshot, eventsAfter: eventsAfter, healthAfter: healthAfter,
                    healthSequences: taken.healthSequences))
        case .status:
            reply(ControlRouter.statusResponse(service.healthStatus()))
        case .stack(let id):
            DispatchQueue.global(qos: .utility).async { [queue] in
                let response = ControlRouter.stackResponse(
                    connectionID: id, frames: service.knownCheckoutStack(connectionID: id))
                queue.async { reply(response) }
            }
        case .perform(let command):
            let sender = ControlPeer(
                uid: peer.uid, gid: peer.gid, pid: peer.pid, groups: peer.groups,
                program: ControlPeerFacts.program(pid: peer.pid))
            commandQueue.async { [queue, logger, path] in
                let outcome = service.perform(command, by: sender)
                let response = ControlRouter.outcomeResponse(outcome)
                let name = ControlCommandRequest(command).command
                logger.notice(
                    "Control socket \(path): \(name) from \(sender): \(response.status.code) \(outcome.message)",
                    metadata: [
                        "peer_uid": "\(sender.uid)", "peer_pid": "\(sender.pid)", "peer_program": "\(sender.program)",
                    ])
                queue.async { reply(response) }
            }
        }
    }
}

/// A value touched only on one serial queue (checked in debug builds).
final class QueueConfined<Value>: @unchecked Sendable {
    // Safety: `value` is read and written only inside `update`, which must run on `queue` (a serial queue);
    // dispatchPrecondition enforces it in debug builds.
    private var value: Value
    private let queue: DispatchQueue

    init(_ value: Value, queue: DispatchQueue) {
        self.value = value
        self.queue = queue
    }

    func update<R>(_ body: (inout Value) -> R) -> R {
        dispatchPrecondition(condition: .onQueue(queue))
        return body(&value)
    }
}

/// Facts about a peer read from `/proc` (its program name; its groups when `SO_PEERGROUPS` is missing).
enum ControlPeerFacts {
    /// `/proc/<pid>/comm`, sanitized; `?` when the process is gone.
    static func program(pid: Int32) -> String {
        guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) else { return "?" }
        return ControlPeer.sanitizedProgram(text)
    }

    /// The `Groups:` line of `/proc/<pid>/status`: the process' supplementary groups as the kernel sees them
    /// (the same set file permissions use), without a user-database (NSS) lookup. Racy against pid reuse, which
    /// is why `SO_PEERGROUPS` (recorded at connect time) is preferred.
    static func groups(pid: Int32) -> [UInt32] {
        guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return [] }
        return groups(statusText: text)
    }

    static func groups(statusText: String) -> [UInt32] {
        guard let line = statusText.split(separator: "\n").first(where: { $0.hasPrefix("Groups:") }) else { return [] }
        return line.dropFirst("Groups:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap {
            UInt32($0)
        }
    }
}

/// Socket files to remove at process exit (best effort, only if still ours): `atexit` runs on `exit()` and a
/// return from `main`, not on a signal or a crash — the next start replaces such a stale file.
enum ControlSocketCleanup {
    private static let files = PoolLock<[String: (device: UInt64, inode: UInt64)]>([:])
    private static let installed = PoolLock(false)

    static func register(_ path: String, device: UInt64, inode: UInt64) {
        files.withLock { $0[path] = (device, inode) }
        let install = installed.withLock { done in
            defer { done = true }
            return !done
        }
        if install { atexit { ControlSocketCleanup.removeAll() } }
    }

    static func unregister(_ path: String) {
        _ = files.withLock { $0.removeValue(forKey: path) }
    }

    static func removeAll() {
        for (path, id) in files.withLock({ $0 }) {
            ControlSocketPath.removeIfOurs(path, device: id.device, inode: id.inode)
        }
    }
}
