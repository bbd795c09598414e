import Dispatch
import PoolModel
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A ``MonitorSource`` fed by a service's control endpoint (docs/CONTROL-PROTOCOL.md): the dashboard on the
/// pool **inside the service**, with no pool of its own.
///
/// `snapshot()` returns the latest snapshot at once and starts the next poll (`GET /v1/snapshot?events_after=N`)
/// on a background (serial) queue, so polls follow the dashboard's refresh rate; at most one is queued. Events are
/// merged by their sequence; the health history is read whole once, then only its newer checks
/// (`health_after`, ``RemoteSourceCore``). When the service stops answering, the last snapshot stays and
/// ``sourceStatus()`` says stale, with the reason; every tick retries, and a service that restarted on an
/// `auto` socket (`<pool>.<pid>.sock`, new pid) is found again in the same directory.
/// Commands go to `POST /v1/commands`, stacks come from `GET /v1/leaks/{id}/stack`.
public final class RemoteMonitorSource: MonitorSource {
    private let core: Mutex<RemoteSourceCore>
    private let isPolling = Atomic<Bool>(false)
    private let queue = DispatchQueue(label: "pooltop.remote.poll")
    private let timeout: Duration
    private let now: @Sendable () -> Date

    /// Connects: reads `/v1/info` and a first snapshot, so a wrong path, a refusal or another protocol version
    /// is reported before the screen is taken.
    /// - Parameters:
    ///   - timeout: deadline of each request (connect + response).
    ///   - now: the clock for "last good snapshot" times (tests pass a fake one).
    public static func connect(
        socketPath: String, timeout: Duration = .seconds(2), now: @escaping @Sendable () -> Date = { Date() }
    ) throws(ControlClientError) -> RemoteMonitorSource {
        let client = ControlClient(socketPath: socketPath, timeout: timeout)
        let info = try client.info()
        let first = try client.snapshot()
        let service = AttachedService(
            program: info.program ?? info.poolName, pid: info.pid, poolName: info.poolName, socketPath: socketPath,
            mayAct: info.mayAct)
        return RemoteMonitorSource(
            core: RemoteSourceCore(service: service, first: first, at: now()), timeout: timeout, now: now)
    }

    init(core: RemoteSourceCore, timeout: Duration, now: @escaping @Sendable () -> Date) {
        self.core = Mutex(core)
        self.timeout = timeout
        self.now = now
    }

    public var sourceDescription: SourceDescription { .attached(core.withLock { $0.service }) }

    public func sourceStatus() -> SourceStatus {
        let time = now()
        return core.withLock { $0.status(now: time) }
    }

    public func snapshot() -> ManagerSnapshot {
        if !isPolling.exchange(true, ordering: .acquiring) {
            queue.async { [self] in
                poll()
                isPolling.store(false, ordering: .releasing)
            }
        }
        return core.withLock { $0.latest }
    }

    /// One poll that starts after any poll in flight, waited for (tests; `perform` after a command, so that
    /// the next tick shows its effect). Never call it on the poll queue.
    public func pollNow() {
        queue.sync { poll() }
    }

    public func perform(_ command: MonitorCommand) -> MonitorCommandOutcome {
        let service = core.withLock { $0.service }
        do {
            let reply = try ControlClient(socketPath: service.socketPath, timeout: timeout).perform(command)
            // Show the command's effect on the next tick rather than one refresh later.
            pollNow()
            return MonitorCommandOutcome(succeeded: reply.succeeded, message: reply.message)
        } catch {
            return MonitorCommandOutcome(
                succeeded: false, message: "Could not send the command to \(service.poolName): \(error.description)")
        }
    }

    public func checkoutStack(connectionID: Int) -> [StackFrame] {
        let path = core.withLock { $0.service.socketPath }
        do {
            return try ControlClient(socketPath: path, timeout: timeout).stack(connectionID: connectionID) ?? []
        } catch {
            // The detail view shows frames; a frame with the reason is better than an endless "loading".
            return [StackFrame(index: 0, symbol: "The stack could not be read: \(error.description)")]
        }
    }

    // MARK: - Polling

    private func poll() {
        for _ in 0..<2 {
            let (path, needsInfo, after, healthAfter, poolName) = core.withLock {
                ($0.service.socketPath, $0.needsInfo, $0.eventsAfter, $0.healthAfter, $0.service.poolName)
            }
            let client = ControlClient(socketPath: path, timeout: timeout)
            do throws(ControlClientError) {
                if needsInfo {
                    let info = try client.info()
                    core.withLock { $0.infoArrived(info, path: path) }
                }
                let reply = try client.snapshot(
                    eventsAfter: needsInfo ? nil : after, healthAfter: needsInfo ? nil : healthAfter)
                let time = now()
                let restarted = core.withLock { $0.snapshotArrived(reply, at: time) }
                if !restarted { return }
            } catch {
                core.withLock { $0.pollFailed(error.summary) }
                guard error.isServiceGone, let moved = Self.restartedSocket(of: path, poolName: poolName) else {
                    return
                }
                core.withLock { $0.socketMoved(to: moved) }
            }
        }
    }

    /// Where a service on an `auto` socket (`<pool>.<pid>.sock`) serves after a restart: the newest socket with
    /// the same pool name in the same directory; `nil` for other socket names.
    static func restartedSocket(of path: String, poolName: String) -> String? {
        let url = URL(fileURLWithPath: path)
        guard let parsed = ControlDiscovery.parseAutoName(url.lastPathComponent), parsed.poolName == poolName
        else { return nil }
        let directory = url.deletingLastPathComponent().path
        return ControlDiscovery.newest(poolName: poolName, in: directory, excluding: path)?.path
    }
}
