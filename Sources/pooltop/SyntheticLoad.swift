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

    func start() {
        for index in 0..<clients {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                nameThisThread("load-\(index)")
                while !isStopped.load(ordering: .relaxed) {
                    _ = try? manager.withConnection { connection in try connection.execute(query) }
                    Self.sleep(milliseconds: Int.random(in: 10...100), unless: isStopped)
                }
            }
            thread.name = "load-\(index)"
            thread.start()
        }
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
