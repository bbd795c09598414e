import Dispatch
import Foundation
import Synchronization
import Testing

@testable import ConnectionManager

/// The pool's one starvation check: when it is armed, and that a starving waiter is served by it while running
/// callers barge through the lane and nothing else reaches the machine.
@Suite("Starvation check")
struct PoolStarvationCheckTests {
    private let ms: Int64 = 1_000_000

    /// A machine with one connection, leased, and `waiters` requests queued at 0, 1, 2 … ms.
    private func saturated(waiters: Int) -> (PoolStateMachine<FakeConnection, String>, LentConnection<FakeConnection>) {
        var machine = PoolStateMachine<FakeConnection, String>(
            configuration: PoolConfiguration(poolSize: 1, maxOverflow: 0))
        guard case .open(_, let open) = machine.leaseRequested(waiter: "holder", now: 0) else {
            fatalError("the first request opens")
        }
        let lent = machine.connectionOpened(
            slot: open.slot, connection: FakeConnection("c1"), backendPID: 1, identity: nil, now: 0
        ).handOver[0].0
        for index in 0..<waiters {
            _ = machine.leaseRequested(
                waiter: "w\(index)", retries: true, now: Int64(index) * ms)
        }
        return (machine, lent)
    }

    @Test func nothingIsArmedWhileNobodyWaits() {
        var (machine, _) = saturated(waiters: 0)
        #expect(machine.armStarvationCheck(now: 0) == nil)
    }

    @Test func oneCheckIsArmedForTheOldestWaiterWhateverTheQueue() {
        var (machine, _) = saturated(waiters: 3)
        let bound = machine.starvationThreshold()
        let first = machine.armStarvationCheck(now: 2 * ms)
        #expect(first == bound + 100_000)
        // Already armed no later: the next waiters do not arm another timer.
        #expect(machine.armStarvationCheck(now: 2 * ms) == nil)
        #expect(machine.armStarvationCheck(now: 3 * ms) == nil)
    }

    @Test func whenItFiresItIsReArmedForWhoeverIsOldestNow() throws {
        var (machine, lent) = saturated(waiters: 2)
        let armed = machine.armStarvationCheck(now: 0)
        let at = try #require(armed)
        // The oldest waiter is served before the check: the next one (queued at 1 ms) is the oldest now.
        guard
            case .handOver(let next, to: "w0") = machine.connectionReleased(
                slot: lent.slot, isUsable: true, now: at)
        else {
            Issue.record("the starving oldest waiter is handed the connection")
            return
        }
        let rearmed = machine.starvationCheckDue(now: at)
        #expect(rearmed == 1 * ms + machine.starvationThreshold() + 100_000)
        _ = next
    }

    @Test func whileTheOldestStarvesTheCheckRepeatsEveryMillisecond() throws {
        var (machine, _) = saturated(waiters: 1)
        let armed = machine.armStarvationCheck(now: 0)
        let at = try #require(armed)
        #expect(machine.laneMayLend(now: at - 200_000))
        #expect(!machine.laneMayLend(now: at))
        #expect(machine.starvationCheckDue(now: at + 5 * ms) == at + 6 * ms)
    }

    @Test func noCheckAfterShutdown() {
        var (machine, _) = saturated(waiters: 1)
        _ = machine.shutdown()
        #expect(machine.armStarvationCheck(now: 0) == nil)
    }

    /// A thread that holds the only connection and takes it back within the 50 µs that make the pool skip waking
    /// anyone: a thread waiting meanwhile is still served (by a look that finds the connection parked, or by the
    /// pool's starvation check; which one is up to the scheduler, so this is a liveness test of the shell).
    @Test func aWaitingThreadIsServedWhileAnotherBarges() throws {
        let pool = ConnectionPool(
            configuration: PoolConfiguration(poolSize: 1, maxOverflow: 0, poolTimeout: .seconds(30)),
            factory: MemoryConnectionFactory(server: MemoryServer()))
        let first = try pool.checkout()
        pool.checkin(first)
        let stop = Atomic<Bool>(false)
        let spins = Atomic<Int>(0)
        let spinner = Thread {
            while !stop.load(ordering: .relaxed) {
                guard let lease = try? pool.checkout() else { continue }
                // Holds it for 200 µs (on the CPU), so that the waiter's own looks find it taken.
                let until = MonotonicClock.now + 200_000
                while MonotonicClock.now < until {}
                pool.checkin(lease)
                spins.add(1, ordering: .relaxed)
            }
        }
        spinner.start()
        while spins.load(ordering: .relaxed) < 1000 { Thread.sleep(forTimeInterval: 0.001) }
        let lease = try pool.checkout()
        pool.checkin(lease)
        stop.store(true, ordering: .relaxed)
        #expect(pool.metrics().timeouts == 0)
    }
}
