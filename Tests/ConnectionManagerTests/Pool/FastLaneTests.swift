import Dispatch
import Foundation
import Synchronization
import Testing

@testable import ConnectionManager

/// The lock-free lane in front of the state machine: what it lends, when it gives connections back to the
/// machine, and that its hot path really takes no lock.
@Suite("FastLane")
struct FastLaneTests {
    private func makePool(
        size: Int, overflow: Int = 0, timeout: Duration = .seconds(5), server: MemoryServer = MemoryServer()
    ) -> ConnectionPool<MemoryConnectionFactory> {
        ConnectionPool(
            configuration: PoolConfiguration(poolSize: size, maxOverflow: overflow, poolTimeout: timeout),
            factory: MemoryConnectionFactory(server: server))
    }

    /// Checks out two connections and gives them back (`a`, then `b`): both end up parked in the lane.
    private func parkTwo(in pool: ConnectionPool<MemoryConnectionFactory>) throws -> (
        a: ConnectionPool<MemoryConnectionFactory>.Lease, b: ConnectionPool<MemoryConnectionFactory>.Lease
    ) {
        let a = try pool.checkout()
        let b = try pool.checkout()
        pool.checkin(a)
        pool.checkin(b)
        return (a, b)
    }

    /// Runs `body` on a new named thread and waits for it (at most `seconds`); false if it did not finish.
    private func onThread(
        named name: String, waitingAtMost seconds: Double = 10, _ body: @escaping @Sendable () -> Void
    )
        -> Bool
    {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            Thread.current.name = name
            body()
            done.signal()
        }
        thread.start()
        return done.wait(timeout: .now() + seconds) == .success
    }

    @Test func aConnectionGivenBackIsLentWithoutThePoolLock() throws {
        let pool = makePool(size: 2)
        let first = try pool.checkout()
        pool.checkin(first)
        // While the test holds the machine's lock, another thread checks out and in: only the lane can serve it.
        let served = Atomic<Int>(0)
        let finished = pool.state.withLock { _ in
            onThread(named: "lane-user", waitingAtMost: 5) {
                for _ in 0..<100 {
                    guard let lease = try? pool.checkout() else { return }
                    pool.checkin(lease)
                    served.add(1, ordering: .relaxed)
                }
            }
        }
        let count = served.load(ordering: .relaxed)
        #expect(finished && count == 100)
        let m = pool.metrics()
        #expect(m.totalCheckouts == 101 && m.totalCheckins == 101)
        #expect(m.checkedIn == 1 && m.checkedOut == 0 && m.connectionsCreated == 1)
    }

    @Test func affinityBeatsLIFOAcrossThreads() throws {
        let pool = makePool(size: 2)
        let a = try pool.checkout()
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let other = Mutex<Int?>(nil)
        let thread = Thread {
            guard let b = try? pool.checkout() else { return }
            other.withLock { $0 = b.connection.id }
            holding.signal()
            release.wait()
            pool.checkin(b)  // returned after `a`: the most recent
            holding.signal()
        }
        thread.start()
        holding.wait()
        pool.checkin(a)
        release.signal()
        holding.wait()
        let again = try pool.checkout()
        #expect(again.connection === a.connection && other.withLock { $0 } != a.connection.id)
        pool.checkin(again)
    }

    @Test func evictionClosesAConnectionLentFromTheLaneWhenItComesBack() throws {
        let server = MemoryServer()
        let pool = makePool(size: 2, server: server)
        let first = try pool.checkout()
        pool.checkin(first)  // parked in the lane
        let lent = try pool.checkout()  // lent by the lane
        #expect(lent.connection === first.connection)
        pool.evictIdle()
        let closedWhileLent = lent.connection.isClosed.load(ordering: .relaxed)
        pool.checkin(lent)
        let closedOnReturn = lent.connection.isClosed.load(ordering: .relaxed)
        #expect(!closedWhileLent && closedOnReturn)
        let next = try pool.checkout()
        #expect(next.connection !== first.connection)
        pool.checkin(next)
        let m = pool.metrics()
        #expect(m.checkedIn == 1 && m.checkedOut == 0 && m.connectionsCreated == 2 && m.connectionsClosed == 1)
        #expect(pool.state.withLock { $0.invariantViolation() } == nil)
    }

    @Test func invalidationClosesParkedConnectionsNowAndLentOnesOnReturn() throws {
        let pool = makePool(size: 3)
        let (a, b) = try parkTwo(in: pool)
        let lent = try pool.checkout()  // b, from the lane; a stays parked
        pool.invalidateAll()
        let parkedClosed = a.connection.isClosed.load(ordering: .relaxed)
        let lentClosedEarly = lent.connection.isClosed.load(ordering: .relaxed)
        pool.checkin(lent)
        let lentClosedOnReturn = lent.connection.isClosed.load(ordering: .relaxed)
        #expect(parkedClosed && !lentClosedEarly && lentClosedOnReturn)
        let m = pool.metrics()
        #expect(m.generation == 1 && m.checkedIn == 0 && m.checkedOut == 0 && m.connectionsClosed == 2)
        let fresh = try pool.checkout()
        #expect(fresh.connection !== a.connection && fresh.connection !== b.connection)
        pool.checkin(fresh)
    }

    @Test func shutdownClosesParkedConnections() throws {
        let server = MemoryServer()
        let pool = makePool(size: 2, server: server)
        _ = try parkTwo(in: pool)
        pool.shutdown()
        let closed = server.closed.load(ordering: .relaxed)
        #expect(closed == 2)
        #expect(throws: PoolError.self) { _ = try pool.checkout() }
    }

    @Test func aWaiterIsServedWhileAnotherThreadKeepsTakingTheConnectionBack() throws {
        // Pool of one; a thread gives the connection back and takes it again in a tight loop (barging through
        // the lane). A second thread must still get it: the fairness bound closes the lane for it.
        // A generous timeout: under a loaded test run the task may be handed the connection long before the
        // cooperative pool resumes it, and the spinning thread waits meanwhile.
        let pool = makePool(size: 1, timeout: .seconds(60))
        let spinner = Spinner(pool)
        let served = Atomic<Bool>(false)
        let finished = onThread(named: "waiter", waitingAtMost: 60) {
            if let lease = try? pool.checkout() {
                served.store(true, ordering: .relaxed)
                pool.checkin(lease)
            }
        }
        spinner.stop()
        let wasServed = served.load(ordering: .relaxed)
        #expect(finished && wasServed)
        #expect(pool.metrics().timeouts == 0)
    }

    /// While connects fail (the breaker is not closed) an old connection is better than none: the machine does
    /// not recycle it, and neither may the lane. Before, a loan from the lane closed it for its age, and the
    /// checkout then failed with `.connectBackoff` although a working connection had been there.
    @Test func theLaneKeepsAnOldConnectionWhileConnectsFail() throws {
        let server = MemoryServer()
        let pool = ConnectionPool(
            configuration: PoolConfiguration(
                poolSize: 2, maxOverflow: 0, poolTimeout: .milliseconds(300), recycle: .milliseconds(200)),
            factory: MemoryConnectionFactory(server: server))
        let kept = try pool.checkout()
        server.failOpens.store(true, ordering: .relaxed)
        // The second connection cannot be opened: the breaker opens.
        #expect(throws: PoolError.self) { try pool.checkout() }
        pool.checkin(kept)
        Thread.sleep(forTimeInterval: 0.3)
        let again = try pool.checkout()
        #expect(again.connection === kept.connection)
        #expect(server.closed.load(ordering: .relaxed) == 0)
        pool.checkin(again)
    }

    /// Tasks that queued while the first connections opened (no prefill) leave the queue once connections are
    /// parked again, and then check out through the lane. Before, a waiting task was only ever handed a
    /// connection, which kept a queue for good: each checkout suspended behind connections reserved for tasks
    /// not yet running (64 tasks: 85k checkouts/s without prefill against 1.7M with it).
    @Test func aQueueOfTasksDrainsBackToTheLane() async throws {
        let pool = makePool(size: 2, timeout: .seconds(60))
        let rounds = 2000
        let allServed = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<rounds {
                        guard let lease = try? await pool.checkout() else { return false }
                        pool.checkin(lease)
                    }
                    return true
                }
            }
            return await group.allSatisfy { $0 }
        }
        #expect(allServed)
        let fromLane = pool.lane.totals().checkouts
        let metrics = pool.metrics()
        #expect(metrics.totalCheckouts == 8 * rounds && metrics.waiting == 0)
        #expect(fromLane * 2 > metrics.totalCheckouts, "\(fromLane) of \(metrics.totalCheckouts) from the lane")
    }

    @Test func aTaskWaiterIsHandedTheConnectionWhileThreadsBarge() async throws {
        // A generous timeout: under a loaded test run the task may be handed the connection long before the
        // cooperative pool resumes it, and the spinning thread waits meanwhile.
        let pool = makePool(size: 1, timeout: .seconds(60))
        let spinner = Spinner(pool)
        let lease = try await pool.checkout()
        pool.checkin(lease)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                spinner.stop()
                continuation.resume()
            }
        }
        #expect(pool.metrics().timeouts == 0)
    }

    @Test func holdersOfLaneLoansAreListedWithTheirStatement() throws {
        let pool = makePool(size: 2)
        let first = try pool.checkout()
        pool.checkin(first)
        let done = DispatchSemaphore(value: 0)
        let proceed = DispatchSemaphore(value: 0)
        // The name the pool knows this thread by (Foundation on Linux may not report a name set inside the
        // thread to the pool's first look, which then falls back to the kernel's inherited name).
        let workerName = Mutex<String>("")
        let thread = Thread {
            Thread.current.name = "report-worker"
            workerName.withLock { $0 = ThreadContext.current.name }
            guard let lease = try? pool.checkout(captureStack: true) else { return }
            lease.recordSQL("SELECT pg_sleep(60)")
            lease.markExpectedLong()
            done.signal()
            proceed.wait()
            pool.checkin(lease)
            done.signal()
        }
        thread.start()
        done.wait()
        let records = pool.checkedOutConnections()
        #expect(records.count == 1)
        let expectedName = workerName.withLock { $0 }
        #expect(!expectedName.isEmpty && records.first?.threadName == expectedName)
        #expect(records.first?.lastSQL == "SELECT pg_sleep(60)")
        #expect(records.first?.isExpectedLong == true)
        #expect(records.first?.stack != nil)
        #expect(records.first?.connectionID == 1)
        proceed.signal()
        done.wait()
        #expect(pool.checkedOutConnections().isEmpty)
        #expect(pool.metrics().checkedOut == 0)
    }

    /// A checkout claims a parked connection, then pre-pings it before it becomes the caller's lease: during that
    /// ping the lane's record of the slot still describes an earlier loan. The leak detector must not see the
    /// earlier loan's start (or 0, the boot, for a slot the lane never lent) as this one's.
    @Test func aLaneClaimBeingPrePingedIsNotListedWithAnEarlierLoansStart() throws {
        let server = MemoryServer()
        let pool = ConnectionPool(
            configuration: PoolConfiguration(
                poolSize: 1, maxOverflow: 0, poolTimeout: .seconds(5), prePingAfterIdle: .zero),
            factory: MemoryConnectionFactory(server: server))
        // A machine lease, parked by its checkin: the lane has never lent this slot (round 1); round 2 claims it
        // after round 1's lane loan.
        let first = try pool.checkout()
        pool.checkin(first)
        for round in 1...2 {
            let inPing = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            server.pingHook.withLock {
                $0 = {
                    inPing.signal()
                    release.wait()
                }
            }
            let before = MonotonicClock.now
            let done = DispatchSemaphore(value: 0)
            let thread = Thread {
                if let lease = try? pool.checkout() { pool.checkin(lease) }
                done.signal()
            }
            thread.start()
            try #require(inPing.wait(timeout: .now() + 30) == .success)
            let records = pool.checkedOutConnections()
            server.pingHook.withLock { $0 = nil }
            release.signal()
            try #require(done.wait(timeout: .now() + 30) == .success)
            // Not the caller's yet: not listed, or if listed then not as a loan that began before this checkout.
            let starts = records.map(\.checkedOutAtNanoseconds)
            #expect(starts.allSatisfy { $0 >= before }, "round \(round): listed from \(starts), checkout at \(before)")
        }
        #expect(pool.checkedOutConnections().isEmpty && server.pings.load(ordering: .relaxed) == 2)
    }

    @Test func overflowConnectionsGoThroughTheMachineAndClose() throws {
        let server = MemoryServer()
        let pool = makePool(size: 1, overflow: 1, server: server)
        let a = try pool.checkout()
        let b = try pool.checkout()  // overflow: the lane closes while the pool is above its size
        pool.checkin(b)
        let overflowClosed = b.connection.isClosed.load(ordering: .relaxed)
        #expect(overflowClosed)
        pool.checkin(a)
        let m = pool.metrics()
        #expect(m.checkedIn == 1 && m.overflow == 0 && m.connectionsClosed == 1)
        // Back at its size, the lane lends again.
        let again = try pool.checkout()
        pool.checkin(again)
        #expect(pool.metrics().connectionsCreated == 2)
    }

    // `checkoutFromLane` is the lane's part of a checkout alone: it lends a parked connection, and otherwise
    // returns nil having changed nothing — no open, no queue, no ping (a parked connection that needs one stays
    // parked for the full checkout, which pings it off the caller's thread).
    @Test func checkoutFromLaneLendsAParkedConnectionAndOtherwiseChangesNothing() async throws {
        let server = MemoryServer()
        let pool = ConnectionPool(
            configuration: PoolConfiguration(poolSize: 2, maxOverflow: 0, prePingAfterIdle: .milliseconds(20)),
            factory: MemoryConnectionFactory(server: server))
        #expect(pool.checkoutFromLane() == nil)
        var m = pool.metrics()
        #expect(m.connectionsCreated == 0 && m.waiting == 0 && m.totalCheckouts == 0)

        let first = try await pool.checkout()
        pool.checkin(first)
        let lent = try #require(pool.checkoutFromLane(captureStack: true))
        #expect(lent.connectionID == first.connectionID)
        let record = try #require(pool.checkedOutConnections().first)
        #expect(record.connectionID == first.connectionID && record.stack != nil)
        // The one connection is out: nothing parked, and no second one is opened for the asking.
        #expect(pool.checkoutFromLane() == nil)
        #expect(pool.metrics().connectionsCreated == 1)
        pool.checkin(lent)

        // Idle past the pre-ping threshold: left parked, unpinged, for the full checkout to ping.
        try await Task.sleep(for: .milliseconds(60))
        let pingsBefore = server.pings.load(ordering: .relaxed)
        #expect(pool.checkoutFromLane() == nil)
        #expect(server.pings.load(ordering: .relaxed) == pingsBefore)
        m = pool.metrics()
        #expect(m.checkedIn == 1 && m.checkedOut == 0 && m.waiting == 0)
        let pinged = try await pool.checkout()
        #expect(pinged.connectionID == first.connectionID)
        #expect(server.pings.load(ordering: .relaxed) == pingsBefore + 1)
        pool.checkin(pinged)
        pool.shutdown()
    }
}

/// A thread that takes the pool's connection and gives it back in a tight loop (barging through the lane)
/// until stopped.
private final class Spinner: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)

    init(_ pool: ConnectionPool<MemoryConnectionFactory>) {
        let thread = Thread { [self] in
            while !stopping.load(ordering: .relaxed) {
                guard let lease = try? pool.checkout() else { continue }
                pool.checkin(lease)
            }
            stopped.signal()
        }
        thread.start()
        usleep(20_000)  // let it take the connection first
    }

    /// Stops the loop and waits for the thread to end (it gives the connection back first).
    func stop() {
        stopping.store(true, ordering: .relaxed)
        stopped.wait()
    }
}
