import ConnectionManager
import Foundation
import Synchronization

/// `--load N`: N client threads running one statement in a loop, with short random pauses, so that a
/// quiet database shows movement. Errors are expected (failover, saturation) and ignored.
final class SyntheticLoad: Sendable {
    let manager: ConnectionManager
    let clients: Int
    let query: String
    private let isStopped = Atomic<Bool>(false)
    private let group = DispatchGroup()

    init(manager: ConnectionManager, clients: Int, query: String) {
        self.manager = manager
        self.clients = clients
        self.query = query
    }

    /// A client thread that could not be started (the thread limit, `ulimit -u`, is reached).
    struct StartFailed: Error, CustomStringConvertible {
        let index: Int
        let clients: Int
        let code: Int32

        var description: String {
            let reason = String(cString: strerror(code))
            let limit = code == EAGAIN ? " (the limit on threads, `ulimit -u`, is reached)" : ""
            let what =
                index < clients
                ? "could not start load client \(index + 1) of \(clients)"
                : "the clients leave fewer than \(SyntheticLoad.headroom) threads for the rest of pooltop"
            return "--load \(clients): \(what): \(reason)\(limit); use a smaller --load"
        }
    }

    /// Starts the client threads. When one cannot be started, or they leave fewer than ``headroom`` threads for
    /// the rest of pooltop, the ones already running are asked to stop and `StartFailed` says why (Foundation's `Thread` cannot report that: it was left unstarted, silently).
    func start() throws(StartFailed) {
        for index in 0..<clients {
            group.enter()
            let code = Self.startDetachedThread { [self] in
                defer { group.leave() }
                nameThisThread("load-\(index)")
                while !isStopped.load(ordering: .relaxed) {
                    _ = try? manager.withConnection { connection in try connection.execute(query) }
                    Self.sleep(milliseconds: Int.random(in: 10...100), unless: isStopped)
                }
            }
            guard code == 0 else {
                group.leave()
                requestStop()
                throw StartFailed(index: index, clients: clients, code: code)
            }
        }
        // Dispatch's workers and the manager's connects need threads too: with none left the dashboard would
        // freeze (keys, Ctrl-C and SIGTERM are handled on Dispatch). Check that a few more can start.
        let gate = DispatchSemaphore(value: 0)
        var spares = 0
        defer { for _ in 0..<spares { gate.signal() } }
        for _ in 0..<Self.headroom {
            let code = Self.startDetachedThread { gate.wait() }
            guard code == 0 else {
                requestStop()
                throw StartFailed(index: clients, clients: clients, code: code)
            }
            spares += 1
        }
    }

    /// Threads that must still be available once the clients run.
    static let headroom = 16

    /// Runs `body` on a new detached thread; returns `pthread_create`'s result (0, or `EAGAIN`, ...).
    static func startDetachedThread(_ body: @escaping @Sendable () -> Void) -> Int32 {
        let box = Unmanaged.passRetained(ThreadBody(body))
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let code = pthread_create(
            &thread, &attributes,
            { argument in
                let body = Unmanaged<ThreadBody>.fromOpaque(argument!).takeRetainedValue()
                body.run()
                return nil
            }, box.toOpaque())
        if code != 0 { box.release() }
        return code
    }

    /// Asks every client to stop after its statement, without waiting.
    func requestStop() {
        isStopped.store(true, ordering: .relaxed)
    }

    /// Asks every client to finish its statement and waits (at most 2 s) for them.
    func stop() {
        requestStop()
        _ = group.wait(timeout: .now() + 2)
    }

    /// Sleeps in small steps so that a stop request is honoured quickly.
    static func sleep(milliseconds: Int, unless stopped: borrowing Atomic<Bool>) {
        var left = milliseconds
        while left > 0 && !stopped.load(ordering: .relaxed) {
            let step = min(left, 50)
            usleep(UInt32(step * 1000))
            left -= step
        }
    }
}

/// The closure a thread started by ``SyntheticLoad/startDetachedThread(_:)`` runs.
private final class ThreadBody: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Names the calling thread for the kernel (and so for leak reports: Foundation's `Thread.name` is not
/// visible to other code on Linux). Names longer than 15 bytes are cut by the kernel.
/// (`pthread_setname_np` is not imported into Swift on Linux; the kernel takes the name from this file too.)
func nameThisThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count) }
}
