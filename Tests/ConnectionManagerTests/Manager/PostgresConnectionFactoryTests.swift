import Foundation
import LocalCluster
import Synchronization
import Testing

@testable import ConnectionManager

/// The factory's books of open connections (backend pid → target), kept by many threads opening and closing at
/// once, as the pool does when tasks and threads all ask for a connection on a cold pool. CI runs this suite under
/// the thread sanitizer too: with `Synchronization.Mutex` (a priority-inheritance futex on Linux, handed from
/// thread to thread inside the kernel under contention) the sanitizer could not see the hand-over and reported
/// the books' updates as a race; they are kept under `PoolLock` now.
@Suite("PostgresConnectionFactory")
struct PostgresConnectionFactoryTests {
    @Test(.timeLimit(.minutes(2))) func connectionsOpenedAndClosedAtOnceAreAllInTheBooks() throws {
        let cluster = try ManagerTests.sharedCluster()
        let factory = PostgresConnectionFactory(
            targets: [try DatabaseURL(cluster.primary.url)],
            applicationName: ManagerTests.applicationName("factory-books"),
            maintenanceTimeout: .seconds(5))
        let threads = 8
        let perThread = 3
        // One record per thread, so the test's own books are never contended.
        let opened = (0..<threads).map { _ in Locked<[PostgresConnection]>([]) }
        let failures = (0..<threads).map { _ in Locked<[String]>([]) }
        let start = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        for thread in 0..<threads {
            group.enter()
            Thread {
                start.wait()
                for _ in 0..<perThread {
                    do {
                        let connection = try factory.open(deadline: .now + .seconds(30))
                        opened[thread].update { $0.append(connection) }
                    } catch {
                        failures[thread].update { $0.append("\(error)") }
                    }
                }
                group.leave()
            }.start()
        }
        // Readers look at the books all along, as leak lookups and the dashboard's server view do.
        let readersDone = Atomic(false)
        let readers = DispatchGroup()
        for _ in 0..<4 {
            readers.enter()
            Thread {
                while !readersDone.load(ordering: .acquiring) {
                    for pid in factory.backendPIDs(onTarget: 0) { _ = factory.targetIndex(ofBackend: pid) }
                }
                readers.leave()
            }.start()
        }
        defer {
            readersDone.store(true, ordering: .releasing)
            readers.wait()
        }
        for _ in 0..<threads { start.signal() }
        #expect(group.wait(timeout: .now() + 60) == .success)
        #expect(failures.flatMap(\.value) == [])
        let connections = opened.flatMap(\.value)
        #expect(connections.count == threads * perThread)
        #expect(factory.backendPIDs(onTarget: 0) == Set(connections.map(\.backendPID)))
        for connection in connections {
            #expect(factory.targetIndex(ofBackend: connection.backendPID) == 0)
        }

        // Closed from many threads at once, they all leave the books.
        let closing = DispatchGroup()
        for connection in connections {
            closing.enter()
            DispatchQueue.global().async {
                factory.close(connection)
                closing.leave()
            }
        }
        #expect(closing.wait(timeout: .now() + 60) == .success)
        #expect(factory.backendPIDs(onTarget: 0).isEmpty)
    }
}
