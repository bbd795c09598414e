import Testing

@testable import ConnectionManager

final class FakeConnection: @unchecked Sendable {
    // Safety: immutable.
    let name: String
    init(_ name: String) { self.name = name }
}

typealias Machine = PoolStateMachine<FakeConnection, String>

private let ms: Int64 = 1_000_000

private func config(
    size: Int = 2, overflow: Int = 0, recycle: Duration? = nil, prePing: Duration? = nil
) -> PoolConfiguration {
    PoolConfiguration(poolSize: size, maxOverflow: overflow, recycle: recycle, prePingAfterIdle: prePing)
}

private let ctx = LeaseContext(threadName: "test", stack: nil)

/// Test driver: feeds facts, checks invariants after each, and unpacks actions.
private struct Driver {
    var m: Machine
    var opened = 0
    init(_ configuration: PoolConfiguration) { m = Machine(configuration: configuration) }

    mutating func check(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(m.invariantViolation() == nil, sourceLocation: sourceLocation)
    }

    /// Request; returns the action. `retries`: a parked thread (woken to retry) rather than a task.
    mutating func request(_ who: String, retries: Bool = false, at now: Int64 = 0) -> Machine.LeaseAction {
        defer { check() }
        return m.leaseRequested(context: LeaseContext(threadName: who), waiter: who, retries: retries, now: now)
    }

    mutating func retried(_ id: PoolRequestID, at now: Int64 = 0) -> Machine.RetryAction {
        defer { check() }
        return m.waiterRetried(id, now: now)
    }

    mutating func open(_ slot: Int, identity: String? = nil, at now: Int64 = 0) -> Machine.Actions {
        opened += 1
        defer { check() }
        return m.connectionOpened(
            slot: slot, connection: FakeConnection("c\(opened)"), backendPID: Int32(100 + opened), identity: identity,
            now: now)
    }

    /// Request and open as needed until the request is lent a connection; returns it.
    mutating func lease(_ who: String, at now: Int64 = 0) -> LentConnection<FakeConnection> {
        switch request(who, at: now) {
        case .leased(let lent):
            return lent
        case .open(_, let open):
            let actions = self.open(open.slot, at: now)
            #expect(actions.handOver.count == 1 && actions.handOver[0].1 == who)
            return actions.handOver[0].0
        default:
            Issue.record("expected a lease for \(who)")
            fatalError()
        }
    }

    mutating func release(_ lent: LentConnection<FakeConnection>, usable: Bool = true, at now: Int64 = 0)
        -> Machine.ReleaseAction
    {
        defer { check() }
        return m.connectionReleased(slot: lent.slot, seq: lent.seq, isUsable: usable, now: now)
    }
}

extension LeaseContext {
    init(threadName: String) { self.init(threadName: threadName, stack: nil) }
}

@Suite("PoolStateMachine")
struct PoolStateMachineTests {
    @Test func lazyOpenThenLIFOReuse() {
        var d = Driver(config(size: 3))
        let a = d.lease("A")
        let b = d.lease("B")
        #expect(d.m.metrics().connectionsCreated == 2)
        guard case .none = d.release(a, at: 1 * ms), case .none = d.release(b, at: 2 * ms) else {
            Issue.record("expected both kept idle")
            return
        }
        // LIFO: B was returned last, so it is lent first.
        guard case .leased(let next) = d.request("C", at: 3 * ms) else {
            Issue.record("no lease")
            return
        }
        #expect(next.connection === b.connection)
        let m = d.m.metrics()
        #expect(m.checkedIn == 1 && m.checkedOut == 1 && m.totalCheckouts == 3 && m.totalCheckins == 2)
    }

    @Test func hotPathNeedsNoWaiterWhenIdleExists() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        _ = d.release(a)
        guard case .leased = d.m.leaseRequested(context: ctx, waiter: nil, now: 0) else {
            Issue.record("expected an immediate lease")
            return
        }
        // Nothing idle and no room: a request without a waiter changes nothing.
        let before = d.m.metrics()
        guard case .needsWaiter = d.m.leaseRequested(context: ctx, waiter: nil, now: 0) else {
            Issue.record("expected needsWaiter")
            return
        }
        #expect(d.m.metrics() == before)
    }

    @Test func fifoWaitersServedInArrivalOrder() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        for who in ["W1", "W2", "W3"] {
            guard case .wait = d.request(who) else {
                Issue.record("\(who) should wait")
                return
            }
        }
        #expect(d.m.metrics().waiting == 3)
        var held = a
        var served: [String] = []
        for step in 1...3 {
            guard case .handOver(let lent, let waiter) = d.release(held, at: Int64(step) * ms) else {
                Issue.record("expected a hand-over")
                return
            }
            #expect(lent.connection === a.connection)
            served.append(waiter)
            held = lent
        }
        #expect(served == ["W1", "W2", "W3"])
        // No barging: a newcomer while W1..W3 waited would have queued behind them (checked by invariants).
        #expect(d.m.metrics().waiting == 0)
    }

    @Test func overflowOpensUpToLimitAndClosesAboveSize() {
        var d = Driver(config(size: 2, overflow: 2))
        let lents = (0..<4).map { d.lease("R\($0)") }
        #expect(d.m.metrics().overflow == 2)
        guard case .wait = d.request("R4") else {
            Issue.record("fifth should wait")
            return
        }
        guard case .handOver(let handed, "R4") = d.release(lents[0]) else {
            Issue.record("hand-over")
            return
        }
        // Above poolSize with nobody waiting: returned overflow connections close.
        guard case .close = d.release(lents[1]), case .close = d.release(lents[2]) else {
            Issue.record("overflow should close")
            return
        }
        guard case .none = d.release(lents[3]), case .none = d.release(handed) else {
            Issue.record("persistent ones stay")
            return
        }
        let m = d.m.metrics()
        #expect(m.checkedIn == 2 && m.overflow == 0 && m.connectionsClosed == 2 && m.invalidations == 0)
    }

    @Test func deadlineFailsWithMetricsAndIsNoOpAfterServed() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        guard case .wait(let w1) = d.request("W1", at: 0), case .wait(let w2) = d.request("W2", at: 0) else {
            Issue.record("should wait")
            return
        }
        let timedOut = d.m.leaseDeadlinePassed(w1, now: 30 * ms)
        d.check()
        guard timedOut.fail.count == 1, case .timedOut(let waited, let snapshot) = timedOut.fail[0].1 else {
            Issue.record("expected a timeout")
            return
        }
        #expect(timedOut.fail[0].0 == "W1")
        #expect(waited == .milliseconds(30))
        #expect(snapshot.metrics.checkedOut == 1 && snapshot.metrics.waiting == 1 && snapshot.metrics.timeouts == 1)
        guard case .handOver(_, "W2") = d.release(a) else {
            Issue.record("W2 next")
            return
        }
        #expect(d.m.leaseDeadlinePassed(w2, now: 40 * ms).fail.isEmpty)
        #expect(d.m.metrics().timeouts == 1)
    }

    @Test func recycleReplacesOldIdleAtCheckout() {
        var d = Driver(config(size: 1, recycle: .milliseconds(100)))
        let a = d.lease("A", at: 0)
        _ = d.release(a, at: 10 * ms)
        guard case .leased = d.request("young", at: 50 * ms) else {
            Issue.record("young is reused")
            return
        }
        d = Driver(config(size: 1, recycle: .milliseconds(100)))
        let b = d.lease("B", at: 0)
        _ = d.release(b, at: 10 * ms)
        guard case .replace(let old, _, let open) = d.request("C", at: 200 * ms) else {
            Issue.record("old connection should be replaced")
            return
        }
        #expect(old === b.connection)
        let actions = d.open(open.slot, at: 201 * ms)
        #expect(actions.handOver.first?.1 == "C")
        #expect(d.m.metrics().invalidations == 1)
    }

    @Test(arguments: [
        (nil as Duration?, 10_000 as Int64, false),
        (.zero, 0, true),
        (.milliseconds(500), 100, false),
        (.milliseconds(500), 600, true),
    ])
    func prePingDecisionByIdleTime(threshold: Duration?, idleMilliseconds: Int64, expectPing: Bool) {
        var d = Driver(config(size: 1, prePing: threshold))
        let a = d.lease("A", at: 0)
        #expect(!a.needsPing, "a fresh connection is never pinged")
        _ = d.release(a, at: 1_000 * ms)
        guard case .leased(let lent) = d.request("B", at: (1_000 + idleMilliseconds) * ms) else {
            Issue.record("expected a lease")
            return
        }
        #expect(lent.needsPing == expectPing)
    }

    @Test func pingFailureReplacesForSameRequestAheadOfWaiters() {
        var d = Driver(config(size: 1, prePing: .zero))
        let a = d.lease("A")
        _ = d.release(a, at: 1 * ms)
        guard case .leased(let lent) = d.request("B", at: 2 * ms), lent.needsPing else {
            Issue.record("expected a lease to ping")
            return
        }
        guard case .wait = d.request("W", at: 3 * ms) else {
            Issue.record("W waits")
            return
        }
        let actions = d.m.pingFailed(lent, waiter: "B", requestID: nil, now: 4 * ms)
        d.check()
        #expect(actions.close.first === a.connection)
        #expect(actions.open.count == 1 && actions.open[0].checkIdentity)
        let opened = d.open(actions.open[0].slot, identity: nil, at: 5 * ms)
        #expect(opened.handOver.first?.1 == "B")
        let m = d.m.metrics()
        #expect(m.totalCheckouts == 2 && m.invalidations == 1 && m.waiting == 1)
    }

    @Test func invalidateAllClosesIdleNowAndBusyOnReturn() {
        var d = Driver(config(size: 3))
        let a = d.lease("A")
        let b = d.lease("B")
        _ = d.release(b)
        let actions = d.m.invalidateAll()
        d.check()
        #expect(actions.close.count == 1 && actions.close[0] === b.connection)
        guard case .close(let closed) = d.release(a) else {
            Issue.record("stale busy one closes")
            return
        }
        #expect(closed === a.connection)
        let m = d.m.metrics()
        #expect(m.generation == 1 && m.invalidations == 2 && m.checkedIn + m.checkedOut == 0)
        let c = d.lease("C")
        guard case .none = d.release(c) else {
            Issue.record("new generation is kept")
            return
        }
    }

    @Test func serverIdentityChangeInvalidatesOlderConnections() {
        var d = Driver(config(size: 3))
        guard case .open(_, let first) = d.request("A") else {
            Issue.record("open")
            return
        }
        #expect(first.checkIdentity)
        let a = d.open(first.slot, identity: "boot-1").handOver[0].0
        let b = d.lease("B")
        _ = d.release(b)
        // A dies: the next open checks who answers; a new identity means the server restarted.
        _ = d.release(a, usable: false)
        guard case .leased(let b2) = d.request("C") else {
            Issue.record("idle B")
            return
        }
        guard case .open(_, let next) = d.request("D") else {
            Issue.record("open")
            return
        }
        #expect(next.checkIdentity)
        let actions = d.open(next.slot, identity: "boot-2")
        #expect(actions.serverRestarted)
        #expect(d.m.metrics().generation == 1)
        guard case .close = d.release(b2) else {
            Issue.record("older generation closes on return")
            return
        }
        // Same identity (one backend terminated): nothing else is invalidated.
        var e = Driver(config(size: 2))
        guard case .open(_, let o) = e.request("A") else {
            Issue.record("open")
            return
        }
        let x = e.open(o.slot, identity: "boot-1").handOver[0].0
        _ = e.release(x, usable: false)
        guard case .open(_, let o2) = e.request("B") else {
            Issue.record("open")
            return
        }
        #expect(!e.open(o2.slot, identity: "boot-1").serverRestarted)
        #expect(e.m.metrics().generation == 0)
    }

    @Test func suspendQueuesAndResumeServesInOrder() {
        var d = Driver(config(size: 2))
        let a = d.lease("A")
        let b = d.lease("B")
        _ = d.release(a)
        _ = d.release(b)
        d.m.suspend()
        #expect(d.m.metrics().isSuspended)
        for who in ["W1", "W2", "W3"] {
            guard case .wait = d.request(who) else {
                Issue.record("\(who) waits while suspended")
                return
            }
        }
        let actions = d.m.resume(now: 0)
        d.check()
        #expect(actions.handOver.map(\.1) == ["W1", "W2"])
        #expect(actions.open.isEmpty, "no room left for W3: it waits for a release")
        #expect(d.m.metrics().waiting == 1 && !d.m.metrics().isSuspended)
    }

    @Test func evictIdleClosesIdleNowAndBusyOnReturn() {
        var d = Driver(config(size: 2))
        let a = d.lease("A")
        let b = d.lease("B")
        _ = d.release(b)
        let actions = d.m.evictIdle()
        d.check()
        #expect(actions.close.count == 1)
        guard case .close = d.release(a) else {
            Issue.record("evicted busy one closes")
            return
        }
        #expect(d.m.metrics().invalidations == 2)
    }

    @Test func shutdownFailsWaitersClosesIdleAndLaterReturns() {
        var d = Driver(config(size: 2))
        let a = d.lease("A")
        let b = d.lease("B")
        _ = d.release(b)
        d.m.suspend()  // so that an idle connection and waiters coexist
        guard case .wait = d.request("W1"), case .wait = d.request("W2") else {
            Issue.record("waits")
            return
        }
        let actions = d.m.shutdown()
        d.check()
        #expect(actions.fail.map(\.0) == ["W1", "W2"])
        guard case .shutDown = actions.fail[0].1 else {
            Issue.record("fails with shutDown")
            return
        }
        #expect(actions.close.count == 1 && actions.close[0] === b.connection)
        guard case .close = d.release(a) else {
            Issue.record("busy closes on return")
            return
        }
        guard case .shutDown = d.request("late") else {
            Issue.record("no checkout after shutdown")
            return
        }
        let m = d.m.metrics()
        #expect(m.checkedIn == 0 && m.checkedOut == 0 && m.connectionsClosed == 2)
    }

    @Test func connectFailureFailsOnlyItsRequester() {
        var d = Driver(config(size: 2))
        let a = d.lease("A")
        guard case .open(_, let openB) = d.request("B") else {
            Issue.record("B opens")
            return
        }
        guard case .wait = d.request("C") else {
            Issue.record("C waits, no room")
            return
        }
        let actions = d.m.connectionOpenFailed(slot: openB.slot, now: 1 * ms)
        d.check()
        #expect(actions.fail.map(\.0) == ["B"])
        guard case .connectFailed = actions.fail[0].1 else {
            Issue.record("connectFailed")
            return
        }
        // C keeps waiting; the freed room is used to try again for C.
        #expect(actions.open.count == 1)
        let m = d.m.metrics()
        #expect(m.connectFailures == 1 && m.timeouts == 0 && m.waiting == 1)
        guard case .handOver(_, "C") = d.release(a) else {
            Issue.record("C is served by a release")
            return
        }
        // C's open now belongs to nobody and will park idle.
        let opened = d.open(actions.open[0].slot)
        #expect(opened.handOver.isEmpty && d.m.metrics().checkedIn == 1)
    }

    @Test func openedConnectionGoesToOldestWaiter() {
        var d = Driver(config(size: 2))
        guard case .open(_, let o1) = d.request("R1"), case .open(_, let o2) = d.request("R2") else {
            Issue.record("two opens")
            return
        }
        // R2's open finishes first but R1 came first.
        #expect(d.open(o2.slot).handOver.first?.1 == "R1")
        // R1's open now belongs to R2; its failure fails R2, not R1.
        let failed = d.m.connectionOpenFailed(slot: o1.slot, now: 0)
        d.check()
        #expect(failed.fail.map(\.0) == ["R2"])
    }

    @Test func cancelledWaiterLeavesQueue() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        guard case .wait(let w1) = d.request("W1"), case .wait = d.request("W2") else {
            Issue.record("wait")
            return
        }
        let actions = d.m.leaseCancelled(w1, now: 0)
        d.check()
        #expect(actions.fail.map(\.0) == ["W1"])
        guard case .handOver(_, "W2") = d.release(a) else {
            Issue.record("W2 served")
            return
        }
        #expect(d.m.metrics().timeouts == 0)
    }

    @Test func doubleReleaseIsNoOp() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        _ = d.release(a)
        let b = d.lease("B")
        guard case .none = d.release(a) else {
            Issue.record("stale release does nothing")
            return
        }
        #expect(d.m.metrics().checkedOut == 1)
        _ = d.release(b)
        #expect(d.m.metrics().totalCheckins == 2)
    }

    @Test func brokenConnectionIsClosedAndReplacedForWaiter() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        guard case .wait = d.request("W") else {
            Issue.record("wait")
            return
        }
        guard case .closeAndOpen(let closed, let open) = d.release(a, usable: false) else {
            Issue.record("broken one is replaced for the waiter")
            return
        }
        #expect(closed === a.connection && open.checkIdentity)
        #expect(d.open(open.slot).handOver.first?.1 == "W")
    }

    @Test func prefillOpensPoolSize() {
        var d = Driver(config(size: 3, overflow: 2))
        let actions = d.m.prefillRequested()
        d.check()
        #expect(actions.open.count == 3)
        for open in actions.open { _ = d.open(open.slot) }
        let m = d.m.metrics()
        #expect(m.checkedIn == 3 && m.connectionsCreated == 3)
        #expect(d.m.prefillRequested().open.isEmpty)
    }

    @Test func latencyWindowsAndRecords() {
        var d = Driver(config(size: 1))
        let a = d.lease("A", at: 0)
        guard case .wait = d.request("W", at: 1 * ms) else {
            Issue.record("wait")
            return
        }
        d.m.recordSQL("SELECT 1", slot: a.slot, seq: a.seq)
        let records = d.m.checkedOutRecords()
        #expect(records.count == 1 && records[0].lastSQL == "SELECT 1" && records[0].context.threadName == "A")
        guard case .handOver(let w, _) = d.release(a, at: 11 * ms) else {
            Issue.record("hand-over")
            return
        }
        #expect(d.m.checkedOutRecords().first?.lastSQL == nil)
        _ = d.release(w, at: 21 * ms)
        let m = d.m.metrics()
        #expect(m.waitTime.count == 2 && abs(m.waitTime.max - 0.010) < 1e-9)
        #expect(m.holdTime.count == 2 && abs(m.holdTime.p50 - 0.010) < 1e-9)
        #expect(m.utilization == 0)
    }

    // MARK: Waiters that retry (parked threads): normal mode with barging, starvation mode

    @Test func releaseWakesOldestThreadWaiterWhichTakesIdle() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        guard case .wait(let w1) = d.request("W1", retries: true, at: 0),
            case .wait(let w2) = d.request("W2", retries: true, at: 0)
        else {
            Issue.record("should wait")
            return
        }
        // Young queue: the connection goes idle and the oldest waiter is woken, not handed the connection.
        guard case .wake("W1") = d.release(a, at: 100_000) else {
            Issue.record("expected W1 woken")
            return
        }
        #expect(d.m.metrics().checkedIn == 1 && d.m.wokenCount == 1)
        // Only one wake per idle connection: W2 is not a stale retry's victim.
        guard case .leased(let lent) = d.retried(w1, at: 150_000) else {
            Issue.record("W1 takes the idle connection")
            return
        }
        #expect(lent.connection === a.connection && d.m.metrics().waiting == 1)
        #expect(d.m.metrics().waitTime.max == 0.000_15)
        // W2 is still queued and asleep.
        guard case .wait = d.retried(w2, at: 160_000) else {
            Issue.record("a stale retry with nothing idle sleeps again")
            return
        }
        #expect(d.m.metrics().waiting == 1)
    }

    @Test func newcomerBargesAndWokenWaiterKeepsItsPlace() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        guard case .wait(let w1) = d.request("W1", retries: true, at: 0),
            case .wait = d.request("W2", retries: true, at: 10)
        else {
            Issue.record("should wait")
            return
        }
        guard case .wake("W1") = d.release(a, at: 100_000) else {
            Issue.record("expected W1 woken")
            return
        }
        // A running caller arrives before W1 is back: it takes the idle connection (no context switch).
        guard case .leased(let barged) = d.request("N", retries: true, at: 110_000) else {
            Issue.record("newcomer barges")
            return
        }
        // W1 finds nothing and sleeps again, still first in line.
        guard case .wait = d.retried(w1, at: 120_000) else {
            Issue.record("W1 sleeps again")
            return
        }
        #expect(d.m.metrics().waiting == 2 && d.m.wokenCount == 0)
        guard case .wake("W1") = d.release(barged, at: 200_000) else {
            Issue.record("W1 is woken again, ahead of W2")
            return
        }
        // While W1 is on its way, a second release does not wake W2: W1 may still find one (Go's mutexWoken).
        guard case .leased(let barged2) = d.request("N2", retries: true, at: 210_000) else {
            Issue.record("newcomer barges")
            return
        }
        guard case .none = d.release(barged2, at: 220_000) else {
            Issue.record("no second wake while W1 is woken and one connection is idle")
            return
        }
    }

    @Test func starvingWaiterIsHandedTheConnectionDirectly() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        guard case .wait(let w1) = d.request("W1", retries: true, at: 0),
            case .wait = d.request("W2", retries: true, at: 0)
        else {
            Issue.record("should wait")
            return
        }
        let threshold = Machine.starvationNanoseconds
        guard case .wake("W1") = d.release(a, at: threshold - 1) else {
            Issue.record("below the threshold: wake")
            return
        }
        guard case .leased(let b) = d.request("N", at: threshold - 1) else {
            Issue.record("newcomer barges below the threshold")
            return
        }
        // W1 has now waited the threshold: newcomers queue and the release hands over directly.
        guard case .wait = d.request("N2", retries: true, at: threshold) else {
            Issue.record("no barging while the oldest waiter starves")
            return
        }
        guard case .handOver(let lent, "W1") = d.release(b, at: threshold) else {
            Issue.record("starvation mode hands over")
            return
        }
        #expect(lent.connection === a.connection && d.m.wokenCount == 0)
        // W1's stale wake-up finds it already served.
        guard case .notWaiting = d.retried(w1, at: threshold + 1) else {
            Issue.record("served request is not waiting")
            return
        }
        #expect(d.m.metrics().waiting == 2)
    }

    @Test func timedOutWokenWaiterPassesTheWakeOn() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        guard case .wait(let w1) = d.request("W1", retries: true, at: 0),
            case .wait = d.request("W2", retries: true, at: 0)
        else {
            Issue.record("should wait")
            return
        }
        guard case .wake("W1") = d.release(a, at: 10) else {
            Issue.record("W1 woken")
            return
        }
        let actions = d.m.leaseDeadlinePassed(w1, now: 20)
        d.check()
        #expect(actions.fail.map(\.0) == ["W1"] && actions.wake == ["W2"])
    }

    @Test func taskWaiterBehindWokenThreadIsServedFromIdle() {
        var d = Driver(config(size: 2))
        let a = d.lease("A")
        let b = d.lease("B")
        guard case .wait = d.request("W1", retries: true, at: 0), case .wait = d.request("T2", at: 0) else {
            Issue.record("should wait")
            return
        }
        guard case .wake("W1") = d.release(a, at: 10) else {
            Issue.record("W1 woken")
            return
        }
        // The task cannot retry: it is handed the second idle connection, keeping FIFO order.
        guard case .handOver(let lent, "T2") = d.release(b, at: 20) else {
            Issue.record("task served")
            return
        }
        #expect(lent.connection === b.connection)
    }

    @Test func suspendedPoolWakesNobodyAndResumeServesInOrder() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        guard case .wait(let w1) = d.request("W1", retries: true, at: 0) else {
            Issue.record("should wait")
            return
        }
        d.m.suspend()
        guard case .none = d.release(a, at: 10) else {
            Issue.record("no wake while suspended")
            return
        }
        guard case .wait = d.retried(w1, at: 20) else {
            Issue.record("no lending while suspended")
            return
        }
        let actions = d.m.resume(now: 30)
        d.check()
        #expect(actions.handOver.map(\.1) == ["W1"] && actions.wake.isEmpty)
    }
}
