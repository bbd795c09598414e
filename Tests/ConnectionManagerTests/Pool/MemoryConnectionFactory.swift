import Synchronization

@testable import ConnectionManager

/// An in-memory connection: no database, just enough state to see what the pool did with it.
final class MemoryConnection: Sendable {
    let id: Int
    let isAlive = Atomic<Bool>(true)
    let isClosed = Atomic<Bool>(false)
    /// Set while some holder uses it: two holders at once is a pool bug.
    let isHeld = Atomic<Bool>(false)

    init(id: Int) { self.id = id }
}

/// Shared, observable state of a `MemoryConnectionFactory`.
final class MemoryServer: Sendable {
    let opened = Atomic<Int>(0)
    /// Every call of `open`, failed ones included.
    let attempts = Atomic<Int>(0)
    let closed = Atomic<Int>(0)
    let pings = Atomic<Int>(0)
    let failOpens = Atomic<Bool>(false)
    let identity = Mutex<String>("boot-1")
    let openDelayMicroseconds = Atomic<Int>(0)
    /// Runs inside every `ping` (a test holds a ping there).
    let pingHook = Mutex<(@Sendable () -> Void)?>(nil)
}

struct MemoryConnectError: Error, CustomStringConvertible {
    var description: String { "connection refused (in-memory server is down)." }
}

/// Opens `MemoryConnection`s. This is not a database mock: it exists to test the pool's locking and waiting.
struct MemoryConnectionFactory: PoolConnectionFactory {
    let server: MemoryServer

    init(server: MemoryServer = MemoryServer()) { self.server = server }

    func open(deadline: ContinuousClock.Instant) throws -> MemoryConnection {
        let delay = server.openDelayMicroseconds.load(ordering: .relaxed)
        if delay > 0 { usleep(UInt32(delay)) }
        server.attempts.wrappingAdd(1, ordering: .relaxed)
        if server.failOpens.load(ordering: .relaxed) { throw MemoryConnectError() }
        let id = server.opened.wrappingAdd(1, ordering: .relaxed).newValue
        return MemoryConnection(id: id)
    }

    func close(_ connection: MemoryConnection) {
        if !connection.isClosed.exchange(true, ordering: .relaxed) {
            server.closed.wrappingAdd(1, ordering: .relaxed)
        }
    }

    func ping(_ connection: MemoryConnection) -> Bool {
        server.pings.wrappingAdd(1, ordering: .relaxed)
        if let hook = server.pingHook.withLock({ $0 }) { hook() }
        return connection.isAlive.load(ordering: .relaxed)
    }

    func reset(_ connection: MemoryConnection) -> Bool { connection.isAlive.load(ordering: .relaxed) }

    func backendPID(_ connection: MemoryConnection) -> Int32 { Int32(10_000 + connection.id) }

    func serverIdentity(_ connection: MemoryConnection) -> String? { server.identity.withLock { $0 } }
}

#if canImport(Glibc)
    import Glibc
#endif
