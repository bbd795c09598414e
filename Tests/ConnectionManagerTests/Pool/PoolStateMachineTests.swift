import Testing

@testable import ConnectionManager

final class FakeConnection: @unchecked Sendable, CustomStringConvertible {
    // Safety: immutable.
    let name: String
    init(_ name: String) { self.name = name }
    var description: String { name }
}

typealias Machine = PoolStateMachine<FakeConnection, String>

private let ms: Int64 = 1_000_000

private func config(
    size: Int = 2, overflow: Int = 0, recycle: Duration? = nil, prePing: Duration? = nil,
    timeout: Duration = .seconds(30), keepalive: Duration? = nil, minIdle: Int = 0, overflowIdle: Duration = .zero
) -> PoolConfiguration {
    PoolConfiguration(
        poolSize: size, maxOverflow: overflow, poolTimeout: timeout, recycle: recycle, prePingAfterIdle: prePing,
        keepalive: keepalive, minIdle: minIdle, overflowIdleTimeout: overflowIdle)
}

private struct TestConnectError: Error, CustomStringConvertible {
    var description: String { "connection refused" }
}

private typealias Actions = Machine.Actions
private typealias Lent = LentConnection<FakeConnection>

/// The id of the `n`th request that needed one (ids are handed out in order from 1).
private func rid(_ n: UInt64) -> PoolRequestID { PoolRequestID(rawValue: n) }

/// The next loan of the connection `lent` was (same slot), begun at `now` after waiting `waited`.
private func again(_ lent: Lent, at now: Int64, needsPing: Bool = false, epoch: Int = 0, waited: Int64 = 0) -> Lent {
    Lent(
        slot: lent.slot, connection: lent.connection, connectionID: lent.connectionID, backendPID: lent.backendPID,
        generation: lent.generation, needsPing: needsPing, openedAt: lent.openedAt, checkedOutAt: now, waited: waited,
        laneEpoch: epoch)
}

/// Test driver: feeds facts, checks invariants after each, and unpacks actions.
private struct Driver {
    var m: Machine
    var opened = 0
    /// Every connection `open` made, in order (`c1`, `c2`, …).
    var connections: [FakeConnection] = []
    init(_ configuration: PoolConfiguration) { m = Machine(configuration: configuration) }

    mutating func check(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(m.invariantViolation() == nil, sourceLocation: sourceLocation)
    }

    /// Request; returns the action. `retries`: a parked thread (woken to retry) rather than a task.
    mutating func request(_ who: String, retries: Bool = false, at now: Int64 = 0) -> Machine.LeaseAction {
        defer { check() }
        return m.leaseRequested(waiter: who, retries: retries, now: now)
    }

    mutating func retried(_ id: PoolRequestID, at now: Int64 = 0) -> Machine.RetryAction {
        defer { check() }
        return m.waiterRetried(id, now: now)
    }

    mutating func open(_ slot: Int, identity: String? = nil, at now: Int64 = 0) -> Machine.Actions {
        opened += 1
        connections.append(FakeConnection("c\(opened)"))
        defer { check() }
        return m.connectionOpened(
            slot: slot, connection: connections[opened - 1], backendPID: Int32(100 + opened), identity: identity,
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
        return m.connectionReleased(slot: lent.slot, isUsable: usable, now: now)
    }
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
        #expect(m.checkedIn == 1 && m.checkedOut == 1)
    }

    @Test func actionsCompareConnectionsByIdentityAndEveryField() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        #expect(a == Lent(slot: 0, connection: d.connections[0], connectionID: 1, backendPID: 101, needsPing: false))
        // Another object with the same name is another connection.
        var lookalike = a
        lookalike.connection = FakeConnection(a.connection.name)
        #expect(a != lookalike)
        #expect(a == again(a, at: 0) && again(a, at: 1) != again(a, at: 2))
        #expect(again(a, at: 1) != again(a, at: 1, waited: 1))
        #expect(again(a, at: 1) != again(a, at: 1, needsPing: true) && again(a, at: 1) != again(a, at: 1, epoch: 1))
        #expect(Machine.ReleaseAction.close(a.connection) != .close(lookalike.connection))
        #expect(Machine.ReleaseAction.handOver(a, to: "W") != .handOver(a, to: "V"))
        #expect(Machine.LeaseAction.wait(rid(1)) != .needsWaiter(rid(1)))
        #expect(Machine.RetryAction.leased(a) != .leased(lookalike))
        // Order matters in every list; every field counts.
        #expect(
            Actions(fail: [("W1", .shutDown), ("W2", .cancelled)])
                != Actions(fail: [("W2", .cancelled), ("W1", .shutDown)]))
        #expect(
            Actions(ping: [(slot: 0, connection: a.connection)])
                != Actions(ping: [(slot: 0, connection: lookalike.connection)]))
        #expect(Actions(retryAt: 1) != Actions() && Actions(isFirstConnect: true) != Actions())
        #expect(
            PoolFailureReason.timedOut(waited: .seconds(1), metrics: d.m.metricsSnapshot())
                != .timedOut(waited: .seconds(2), metrics: d.m.metricsSnapshot()))
    }

    @Test func hotPathNeedsNoWaiterWhenIdleExists() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        _ = d.release(a)
        guard case .leased = d.m.leaseRequested(waiter: nil, now: 0) else {
            Issue.record("expected an immediate lease")
            return
        }
        // Nothing idle and no room: a request without a waiter changes nothing.
        let before = d.m.metrics()
        guard case .needsWaiter = d.m.leaseRequested(waiter: nil, now: 0) else {
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

    @Test func handOverFromACheckinIsNotPrePingedUnderAStandingQueue() {
        // Pre-ping after 500 ms idle; the connection is opened at 0 and then only ever handed from holder to waiter.
        var d = Driver(config(size: 1, prePing: .milliseconds(500)))
        var held = d.lease("A")
        for step in 1...5 {
            guard case .wait = d.request("T\(step)", at: Int64(step) * 400 * ms) else {
                Issue.record("T\(step) should wait")
                return
            }
            guard case .handOver(let lent, _) = d.release(held, at: Int64(step) * 400 * ms + 1) else {
                Issue.record("expected a hand-over")
                return
            }
            // Given back a moment ago: alive, whatever time passed since it last sat idle.
            #expect(!lent.needsPing, "hand-over \(step) pinged")
            held = lent
        }
        // Once it really sits idle longer than the threshold, the next checkout pings it.
        _ = d.release(held, at: 3000 * ms)
        guard case .leased(let late) = d.request("L", at: 3600 * ms) else {
            Issue.record("expected a lease")
            return
        }
        #expect(late.needsPing)
    }

    @Test func overflowOpensUpToLimitAndClosesAboveSize() {
        var d = Driver(config(size: 2, overflow: 2))
        let lents = (0..<4).map { d.lease("R\($0)") }
        #expect(d.m.metrics().overflow == 2)
        #expect(d.request("R4") == .wait(rid(5)))
        // Above poolSize a returned connection is handed over (it would close if it went idle).
        #expect(d.release(lents[0], at: 1 * ms) == .handOver(again(lents[0], at: 1 * ms, waited: 1 * ms), to: "R4"))
        // Above poolSize with nobody waiting: returned overflow connections close.
        #expect(d.release(lents[1]) == .close(lents[1].connection))
        #expect(d.release(lents[2]) == .close(lents[2].connection))
        // Back at poolSize: kept idle.
        #expect(d.release(lents[3]) == .none)
        #expect(d.release(again(lents[0], at: 1 * ms)) == .none)
        let m = d.m.metrics()
        #expect(m.checkedIn == 2 && m.overflow == 0 && m.connectionsClosed == 2 && m.invalidations == 0)
    }

    @Test func deadlineFailsWithMetricsAndIsNoOpAfterServed() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        #expect(d.request("W1", at: 0) == .wait(rid(2)))
        #expect(d.request("W2", at: 0) == .wait(rid(3)))
        let timedOut = d.m.leaseDeadlinePassed(rid(2), now: 30 * ms)
        d.check()
        // The snapshot is the one taken as W1 left (nothing changed since: nothing was idle to pass on).
        let snapshot = d.m.metricsSnapshot()
        #expect(snapshot.metrics.checkedOut == 1 && snapshot.metrics.waiting == 1 && snapshot.metrics.timeouts == 1)
        #expect(timedOut == Actions(fail: [("W1", .timedOut(waited: .milliseconds(30), metrics: snapshot))]))
        #expect(d.release(a, at: 31 * ms) == .handOver(again(a, at: 31 * ms, waited: 31 * ms), to: "W2"))
        #expect(d.m.leaseDeadlinePassed(rid(3), now: 40 * ms) == Actions())
        #expect(d.m.metrics().timeouts == 1)
    }

    /// Waiting tasks share one deadline check: armed for the earliest deadline, re-armed when it fires (also when
    /// it fires early), and never failing a request that was served or that has no deadline (a thread's).
    @Test func oneDeadlineCheckServesEveryWaitingTask() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        #expect(d.request("W1") == .wait(rid(2)))
        #expect(d.m.armDeadlineCheck(for: rid(2), deadline: 100 * ms) == 100 * ms)
        #expect(d.request("W2") == .wait(rid(3)))
        // Later than the armed check: nothing to arm.
        #expect(d.m.armDeadlineCheck(for: rid(3), deadline: 150 * ms) == nil)
        #expect(d.request("W3") == .wait(rid(4)))
        // Earlier: the check is re-armed for it.
        #expect(d.m.armDeadlineCheck(for: rid(4), deadline: 50 * ms) == 50 * ms)
        // A thread's request has no deadline in the machine.
        #expect(d.request("T") == .wait(rid(5)))
        // Not queued: nothing armed.
        #expect(d.m.armDeadlineCheck(for: rid(9), deadline: 1 * ms) == nil)
        d.check()

        let first = d.m.deadlineCheckDue(armedFor: 50 * ms, now: 50 * ms)
        d.check()
        let snapshot = d.m.metricsSnapshot()
        #expect(first.actions == Actions(fail: [("W3", .timedOut(waited: .milliseconds(50), metrics: snapshot))]))
        #expect(first.next == 100 * ms)
        // Early (the timer's clock and ours disagree): nothing fails, and it is armed again for the same time.
        let early = d.m.deadlineCheckDue(armedFor: 100 * ms, now: 99 * ms)
        d.check()
        #expect(early.actions == Actions() && early.next == 100 * ms)
        // W1 is served before its deadline: the check that comes at it fails nobody and arms for W2.
        #expect(d.release(a, at: 99 * ms) == .handOver(again(a, at: 99 * ms, waited: 99 * ms), to: "W1"))
        let second = d.m.deadlineCheckDue(armedFor: 100 * ms, now: 100 * ms)
        d.check()
        #expect(second.actions == Actions() && second.next == 150 * ms)
        // A stale timer (armed before the check moved) fails nobody early and arms nothing.
        let stale = d.m.deadlineCheckDue(armedFor: 100 * ms, now: 120 * ms)
        #expect(stale.actions == Actions() && stale.next == nil)
        let third = d.m.deadlineCheckDue(armedFor: 150 * ms, now: 150 * ms)
        d.check()
        let snapshot2 = d.m.metricsSnapshot()
        #expect(third.actions == Actions(fail: [("W2", .timedOut(waited: .milliseconds(150), metrics: snapshot2))]))
        // Only the thread is left: it has no deadline here, so nothing is armed.
        #expect(third.next == nil && d.m.metrics().waiting == 1 && d.m.metrics().timeouts == 2)
    }

    @Test func recycleReplacesOldIdleAtCheckout() {
        var d = Driver(config(size: 1, recycle: .milliseconds(100)))
        let a = d.lease("A", at: 0)
        #expect(d.release(a, at: 10 * ms) == .none)
        #expect(d.request("young", at: 50 * ms) == .leased(again(a, at: 50 * ms)))
        d = Driver(config(size: 1, recycle: .milliseconds(100)))
        let b = d.lease("B", at: 0)
        #expect(d.release(b, at: 10 * ms) == .none)
        // Older than the recycle age: closed, and its slot opens the replacement for this request, which waits.
        #expect(
            d.request("C", at: 200 * ms) == .replace(close: b.connection, rid(2), .init(slot: 0, checkIdentity: true)))
        #expect(d.m.metrics().waiting == 1)
        let actions = d.open(0, at: 201 * ms)
        let replacement = Lent(
            slot: 0, connection: d.connections[1], connectionID: 2, backendPID: 102, needsPing: false,
            openedAt: 201 * ms, checkedOutAt: 201 * ms, waited: 1 * ms)
        #expect(actions == Actions(handOver: [(replacement, "C")]))
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
        #expect(d.release(a, at: 1 * ms) == .none)
        let lent = again(a, at: 2 * ms, needsPing: true)
        #expect(d.request("B", at: 2 * ms) == .leased(lent))
        #expect(d.request("W", at: 3 * ms) == .wait(rid(2)))
        // Closed (the lane's epoch moves: the others may be dead too), reopened in its slot for B, enqueued first.
        let actions = d.m.pingFailed(lent, waiter: "B", requestID: nil, now: 4 * ms)
        d.check()
        #expect(
            actions == Actions(close: [a.connection], open: [.init(slot: 0, checkIdentity: true)], enqueued: rid(3)))
        let opened = d.open(0, identity: nil, at: 5 * ms)
        let replacement = Lent(
            slot: 0, connection: d.connections[1], connectionID: 2, backendPID: 102, needsPing: false,
            openedAt: 5 * ms, checkedOutAt: 5 * ms, waited: 1 * ms, laneEpoch: 1)
        #expect(opened == Actions(handOver: [(replacement, "B")]))
        let m = d.m.metrics()
        #expect(m.invalidations == 1 && m.waiting == 1)
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
        #expect(d.release(b) == .none)
        d.m.suspend()  // so that an idle connection and waiters coexist
        #expect(d.request("W1") == .wait(rid(3)))
        #expect(d.request("W2", retries: true) == .wait(rid(4)))
        let actions = d.m.shutdown()
        d.check()
        #expect(actions == Actions(close: [b.connection], fail: [("W1", .shutDown), ("W2", .shutDown)]))
        #expect(d.m.shutdown() == Actions())
        #expect(d.release(a) == .close(a.connection))
        #expect(d.request("late") == .shutDown)
        let m = d.m.metrics()
        #expect(m.checkedIn == 0 && m.checkedOut == 0 && m.connectionsClosed == 2)
    }

    @Test func connectFailureKeepsItsRequesterWaitingForAConnectionGivenBack() {
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
        let actions = d.m.connectionOpenFailed(slot: openB.slot, error: TestConnectError(), now: 1 * ms)
        d.check()
        // Nobody fails at once, and nothing opens while the breaker backs off (50 ms, half of it or more): only
        // the timer for its end is armed.
        let retryAt = d.m.breaker.retryAt
        #expect(actions == Actions(retryAt: retryAt))
        #expect(retryAt >= 26 * ms && retryAt <= 51 * ms)
        var m = d.m.metrics()
        #expect(m.connectFailures == 1 && m.timeouts == 0 && m.waiting == 2)
        #expect(m.connectBreaker == ConnectBreakerStatus(state: .open, failures: 1))
        // A connection given back goes to B, the oldest waiter.
        guard case .handOver(_, "B") = d.release(a, at: 2 * ms) else {
            Issue.record("B is served by a release")
            return
        }
        // The backoff ends: one trial open, for C.
        let retry = d.m.connectRetryDue(now: retryAt)
        d.check()
        #expect(retry.open.count == 1 && d.m.metrics().connectBreaker?.state == .halfOpen)
        let opened = d.open(retry.open[0].slot, at: retryAt + ms)
        #expect(opened.handOver.map(\.1) == ["C"])
        m = d.m.metrics()
        #expect(m.connectBreaker == ConnectBreakerStatus(state: .closed, failures: 0) && m.waiting == 0)
    }

    @Test func openedConnectionGoesToOldestWaiter() {
        var d = Driver(config(size: 2))
        guard case .open(_, let o1) = d.request("R1"), case .open(_, let o2) = d.request("R2") else {
            Issue.record("two opens")
            return
        }
        // R2's open finishes first but R1 came first.
        #expect(d.open(o2.slot).handOver.first?.1 == "R1")
        // R1's open now belongs to R2; its failure leaves R2 waiting for the breaker's trial.
        let failed = d.m.connectionOpenFailed(slot: o1.slot, error: TestConnectError(), now: 0)
        d.check()
        #expect(failed.fail.isEmpty && failed.retryAt != nil && d.m.metrics().waiting == 1)
    }

    @Test func cancelledWaiterLeavesQueue() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        #expect(d.request("W1") == .wait(rid(2)))
        #expect(d.request("W2") == .wait(rid(3)))
        #expect(d.m.leaseCancelled(rid(2), now: 0) == Actions(fail: [("W1", .cancelled)]))
        d.check()
        #expect(d.m.leaseCancelled(rid(2), now: 1) == Actions(), "gone: a second cancel does nothing")
        #expect(d.release(a, at: 2) == .handOver(again(a, at: 2, waited: 2), to: "W2"))
        #expect(d.m.metrics().timeouts == 0)
    }

    @Test func cancelledWokenWaiterPassesTheIdleConnectionToTheTaskBehindIt() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        #expect(d.request("W1", retries: true, at: 0) == .wait(rid(2)))
        #expect(d.request("T2", at: 0) == .wait(rid(3)))
        #expect(d.release(a, at: 10) == .wake("W1"))
        // W1 leaves before it retried: the idle connection it was woken for goes to T2, which cannot retry.
        let actions = d.m.leaseCancelled(rid(2), now: 20)
        d.check()
        #expect(actions == Actions(handOver: [(again(a, at: 20, waited: 20), "T2")], fail: [("W1", .cancelled)]))
        #expect(d.m.wokenCount == 0 && d.m.metrics().waiting == 0)
    }

    /// The machine knows slots, not loans: giving back a slot that is not out changes nothing. (A stale checkin
    /// of an earlier loan of a slot now out again never reaches it: the lane word's compare-and-swap stops it,
    /// `ConnectionPoolTests.aStaleCheckinOfAMachineLoanLeavesTheNextOneAlone`.)
    @Test func releasingASlotThatIsNotOutIsANoOp() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        #expect(d.release(a) == .none)
        #expect(d.release(a) == .none, "again while idle")
        #expect(d.m.metrics().checkedIn == 1 && d.m.metrics().checkedOut == 0)
        _ = d.m.evictIdle()
        d.check()
        #expect(d.release(a) == .none, "again while empty")
        #expect(d.m.metrics().connectionsClosed == 1 && d.m.metrics().checkedIn == 0)
        #expect(d.m.connectionReleased(slot: 7, isUsable: true, now: 0) == .none, "no such slot")
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

    /// The machine tells the holder how long its request waited (the holder records it with the loan); a loan
    /// made at once waited 0.
    @Test func aLoanSaysHowLongItsRequestWaited() {
        var d = Driver(config(size: 1))
        let a = d.lease("A", at: 0)
        #expect(a.waited == 0)
        guard case .wait = d.request("W", at: 1 * ms) else {
            Issue.record("wait")
            return
        }
        guard case .handOver(let w, _) = d.release(a, at: 11 * ms) else {
            Issue.record("hand-over")
            return
        }
        #expect(w.waited == 10 * ms && w.checkedOutAt == 11 * ms)
        _ = d.release(w, at: 21 * ms)
        #expect(d.m.metrics().utilization == 0)
    }

    // MARK: Waiters that retry (parked threads): normal mode with barging, starvation mode

    @Test func releaseWakesOldestThreadWaiterWhichTakesIdle() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        #expect(d.request("W1", retries: true, at: 0) == .wait(rid(2)))
        #expect(d.request("W2", retries: true, at: 0) == .wait(rid(3)))
        // Young queue: the connection goes idle and the oldest waiter is woken, not handed the connection.
        #expect(d.release(a, at: 100_000) == .wake("W1"))
        #expect(d.m.metrics().checkedIn == 1 && d.m.wokenCount == 1)
        // Only one wake per idle connection: W2 is not a stale retry's victim.
        #expect(d.retried(rid(2), at: 150_000) == .leased(again(a, at: 150_000, waited: 150_000)))
        #expect(d.m.metrics().waiting == 1)
        // W2 is still queued and asleep: a stale retry with nothing idle sleeps again.
        #expect(d.retried(rid(3), at: 160_000) == .wait)
        #expect(d.m.metrics().waiting == 1)
    }

    @Test func aTaskWaiterIsHandedTheConnectionAThreadWaiterIsWoken() {
        var task = Driver(config(size: 1))
        let a = task.lease("A")
        #expect(task.request("T", at: 1 * ms) == .wait(rid(2)))
        #expect(task.release(a, at: 2 * ms) == .handOver(again(a, at: 2 * ms, waited: 1 * ms), to: "T"))
        #expect(task.m.metrics().waiting == 0 && task.m.metrics().checkedIn == 0)

        var thread = Driver(config(size: 1))
        let b = thread.lease("B")
        #expect(thread.request("W", retries: true, at: 1 * ms) == .wait(rid(2)))
        #expect(thread.release(b, at: 2 * ms) == .wake("W"))
        #expect(thread.m.metrics().waiting == 1 && thread.m.metrics().checkedIn == 1)
        #expect(thread.retried(rid(2), at: 3 * ms) == .leased(again(b, at: 3 * ms, waited: 2 * ms)))
        #expect(thread.retried(rid(2), at: 4 * ms) == .notWaiting)
    }

    @Test func newcomerBargesAndWokenWaiterKeepsItsPlace() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        #expect(d.request("W1", retries: true, at: 0) == .wait(rid(2)))
        #expect(d.request("W2", retries: true, at: 10) == .wait(rid(3)))
        #expect(d.release(a, at: 100_000) == .wake("W1"))
        // A running caller arrives before W1 is back: it takes the idle connection (no context switch).
        let barged = again(a, at: 110_000)
        #expect(d.request("N", retries: true, at: 110_000) == .leased(barged))
        // W1 finds nothing and sleeps again, still first in line.
        #expect(d.retried(rid(2), at: 120_000) == .wait)
        #expect(d.m.metrics().waiting == 2 && d.m.wokenCount == 0)
        #expect(d.release(barged, at: 200_000) == .wake("W1"), "W1 is woken again, ahead of W2")
        // While W1 is on its way, a second release does not wake W2: W1 may still find one (Go's mutexWoken).
        let barged2 = again(barged, at: 210_000)
        #expect(d.request("N2", retries: true, at: 210_000) == .leased(barged2))
        #expect(d.release(barged2, at: 220_000) == .none)
    }

    @Test func starvingWaiterIsHandedTheConnectionDirectly() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        #expect(d.request("W1", retries: true, at: 0) == .wait(rid(2)))
        #expect(d.request("W2", retries: true, at: 1 * ms) == .wait(rid(3)))
        let threshold = Machine.starvationNanoseconds
        #expect(d.m.starvationThreshold() == threshold)
        // Below the bound: the oldest waiter is woken and a running caller barges in before it.
        #expect(d.release(a, at: 2 * ms) == .wake("W1"))
        let barged = again(a, at: 3 * ms)
        #expect(d.request("N", at: 3 * ms) == .leased(barged))
        #expect(d.retried(rid(2), at: 4 * ms) == .wait)
        // W1 has now waited exactly the bound: the release hands the connection to it directly.
        let handed = again(barged, at: threshold, waited: threshold)
        #expect(d.release(barged, at: threshold) == .handOver(handed, to: "W1"))
        #expect(d.m.wokenCount == 0)
        // W1's stale wake-up (if any) finds it already served.
        #expect(d.retried(rid(2), at: threshold + 1) == .notWaiting)
        // W2 (waiting since 1 ms) starves too by the next release.
        #expect(
            d.release(handed, at: threshold + 1 * ms)
                == .handOver(again(handed, at: threshold + 1 * ms, waited: threshold), to: "W2"))
        #expect(d.m.metrics().waiting == 0)
    }

    @Test func aStarvingWaiterStopsBargingEvenWithAConnectionIdle() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        #expect(d.request("W1", retries: true, at: 0) == .wait(rid(2)))
        #expect(d.request("W2", retries: true, at: 0) == .wait(rid(3)))
        let threshold = Machine.starvationNanoseconds
        // Woken just below the bound: the connection sits idle while W1 is on its way.
        #expect(d.release(a, at: threshold - 1) == .wake("W1"))
        let laneOpenBefore = d.m.laneMayLend(now: threshold - 1)
        #expect(laneOpenBefore)
        // At the bound a newcomer queues behind W1 although a connection is idle, and the lane closes.
        #expect(d.request("N", retries: true, at: threshold) == .wait(rid(4)))
        let laneOpenAtTheBound = d.m.laneMayLend(now: threshold)
        #expect(!laneOpenAtTheBound)
        let w1 = again(a, at: threshold + 1, waited: threshold + 1)
        #expect(d.retried(rid(2), at: threshold + 1) == .leased(w1))
        // W2 starves as well: handed over, ahead of N.
        #expect(
            d.release(w1, at: threshold + 2) == .handOver(again(w1, at: threshold + 2, waited: threshold + 2), to: "W2")
        )
    }

    @Test func theFairnessBoundStopsGrowingWithTheQueueAt20Milliseconds() {
        var d = Driver(config(size: 1))
        _ = d.lease("A")
        var thresholds: [Int64] = []
        for index in 0..<300 {
            guard case .wait = d.request("W\(index)", retries: true, at: 0) else {
                Issue.record("W\(index) should wait")
                return
            }
            thresholds.append(d.m.starvationThreshold())
        }
        let us: Int64 = 1_000
        // 5 ms up to 62 waiters, then 80 µs per waiter (64 threads on 10 connections: 54 waiters, 5 ms).
        #expect(thresholds[0] == 5 * ms && thresholds[53] == 5 * ms && thresholds[61] == 5 * ms)
        #expect(thresholds[62] == 63 * 80 * us && thresholds[99] == 8 * ms)
        // 246 waiters (256 threads): 19.7 ms; from 250 on, 20 ms.
        #expect(thresholds[245] == 246 * 80 * us && thresholds[249] == 20 * ms && thresholds[299] == 20 * ms)
        #expect(!d.m.isOldestWaiterStarving(now: 20 * ms - 1) && d.m.isOldestWaiterStarving(now: 20 * ms))
    }

    @Test func timedOutWokenWaiterPassesTheWakeOn() {
        var d = Driver(config(size: 1))
        let a = d.lease("A")
        #expect(d.request("W1", retries: true, at: 0) == .wait(rid(2)))
        #expect(d.request("W2", retries: true, at: 0) == .wait(rid(3)))
        #expect(d.release(a, at: 10) == .wake("W1"))
        let actions = d.m.leaseDeadlinePassed(rid(2), now: 20)
        d.check()
        let snapshot = d.m.metricsSnapshot()
        #expect(snapshot.metrics.timeouts == 1 && snapshot.metrics.waiting == 1 && snapshot.metrics.checkedIn == 1)
        // W1 leaves without the idle connection it was woken for: W2 is woken in its place.
        #expect(
            actions == Actions(fail: [("W1", .timedOut(waited: .nanoseconds(20), metrics: snapshot))], wake: ["W2"]))
    }

    @Test func taskWaiterBehindWokenThreadIsServedFromIdle() {
        var d = Driver(config(size: 2))
        let a = d.lease("A")
        let b = d.lease("B")
        #expect(d.request("W1", retries: true, at: 0) == .wait(rid(3)))
        #expect(d.request("T2", at: 0) == .wait(rid(4)))
        #expect(d.release(a, at: 10) == .wake("W1"))
        // The task cannot retry: it is handed the second idle connection, keeping FIFO order.
        #expect(d.release(b, at: 20) == .handOver(again(b, at: 20, waited: 20), to: "T2"))
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

// MARK: - Connect breaker, overflow idle lifetime, keepalive, minimum idle

extension PoolStateMachineTests {
    @Suite("PoolStateMachine in the background")
    struct Background {
        @Test func backoffDoublesWithJitterFrom50MillisecondsUpTo5Seconds() {
            var breaker = ConnectBreaker(seed: 42)
            var now: Int64 = 0
            var full: Int64 = 50 * ms
            for _ in 0..<12 {
                let mayOpen = breaker.mayOpen(now: now)
                #expect(mayOpen)
                let retryAt = breaker.openFailed(TestConnectError(), isPermanent: false, now: now)
                #expect(retryAt - now >= full / 2 && retryAt - now <= full, "\(retryAt - now) for \(full)")
                #expect(!breaker.isTrialDue(now: retryAt - 1) && breaker.isTrialDue(now: retryAt))
                now = retryAt
                full = min(full * 2, 5_000 * ms)
            }
            #expect(breaker.failures == 12)
            // Opens that were in flight when it opened do not extend the backoff.
            var again = ConnectBreaker(seed: 1)
            let first = again.openFailed(TestConnectError(), isPermanent: false, now: 0)
            #expect(again.openFailed(TestConnectError(), isPermanent: false, now: 1) == first && again.failures == 1)
            again.reset()
            #expect(again.isClosed && again.failures == 0 && again.lastError == nil)
        }

        @Test func halfOpenLetsOneTrialThroughAndItsSuccessOpensForTheOthers() {
            var d = Driver(config(size: 3))
            guard case .open(_, let o1) = d.request("R1") else {
                Issue.record("R1 opens")
                return
            }
            let failed = d.m.connectionOpenFailed(slot: o1.slot, error: TestConnectError(), now: 0)
            let retryAt = try! #require(failed.retryAt)
            // While open, a newcomer waits (the timer is already armed for this backoff).
            guard case .wait = d.request("R2", at: 1 * ms) else {
                Issue.record("R2 waits while backing off")
                return
            }
            // Past the backoff a newcomer's open is the trial; the next one waits although there is room.
            guard case .open(_, let trial) = d.request("R3", at: retryAt) else {
                Issue.record("R3 is the trial")
                return
            }
            guard case .wait = d.request("R4", at: retryAt) else {
                Issue.record("R4 waits for the trial")
                return
            }
            #expect(d.m.metrics().connecting == 1)
            let opened = d.open(trial.slot, at: retryAt + ms)
            // The trial's connection goes to the oldest waiter; the closed breaker opens for the rest.
            #expect(opened.handOver.map(\.1) == ["R1"] && opened.open.count == 2)
        }

        @Test func failsFastOnceNothingIsOpenAndConnectsFailedForThePoolTimeout() {
            var d = Driver(config(size: 1, timeout: .milliseconds(300)))
            guard case .open(let r1, let o1) = d.request("R1") else {
                Issue.record("R1 opens")
                return
            }
            _ = d.m.connectionOpenFailed(slot: o1.slot, error: TestConnectError(), now: 0)
            // R1's deadline: the pool is not saturated, it cannot connect — connectBackoff, not timedOut.
            let expired = d.m.leaseDeadlinePassed(r1, now: 300 * ms)
            guard case .connectBackoff(let lastError, let retryAt) = try! #require(expired.fail.first?.1) else {
                Issue.record("expected connectBackoff, got \(expired.fail)")
                return
            }
            #expect(lastError is TestConnectError && retryAt <= 50 * ms)
            #expect(d.m.metrics().timeouts == 0)
            // The backoff is over: a newcomer's open is the trial. It fails; failing for 300 ms with nothing open,
            // its requester fails at once.
            guard case .open(_, let trial) = d.request("R2", at: 300 * ms) else {
                Issue.record("R2's open is the trial (backoff over)")
                return
            }
            let failed = d.m.connectionOpenFailed(slot: trial.slot, error: TestConnectError(), now: 301 * ms)
            d.check()
            #expect(failed.fail.map(\.0) == ["R2"] && d.m.metrics().connectFailures == 2)
            // Within the new backoff, a newcomer fails at once, without an attempt.
            guard case .failed(.connectBackoff) = d.request("R3", at: 302 * ms) else {
                Issue.record("R3 fails fast")
                return
            }
            #expect(d.m.metrics().connecting == 0 && d.m.metrics().connectFailures == 2)
        }

        @Test func permanentConnectErrorFailsEveryWaiterAtOnce() {
            var d = Driver(config(size: 1))
            #expect(d.request("R1") == .open(rid(1), .init(slot: 0, checkIdentity: true)))
            #expect(d.request("R2", retries: true) == .wait(rid(2)))
            #expect(d.request("R3") == .wait(rid(3)))
            // Nothing is open to give back and retrying will not help: every waiter fails, not only R1.
            let failed = d.m.connectionOpenFailed(slot: 0, error: TestConnectError(), isPermanent: true, now: 0)
            d.check()
            #expect(failed == Actions(fail: [("R1", .connectFailed), ("R2", .connectFailed), ("R3", .connectFailed)]))
            #expect(d.m.metrics().waiting == 0 && d.m.metrics().connecting == 0)
            // While the breaker is open a newcomer fails at once with the error and the end of the backoff.
            let retryAt = d.m.breaker.retryAt
            #expect(retryAt > 0)
            #expect(
                d.request("R4", at: 1 * ms)
                    == .failed(.connectBackoff(lastError: TestConnectError(), retryAt: retryAt)))
            // The reason's equality looks at the error's type and text, and at the time.
            #expect(
                PoolFailureReason.connectBackoff(lastError: TestConnectError(), retryAt: retryAt)
                    != .connectBackoff(lastError: PoolConnectError.unknown, retryAt: retryAt))
            #expect(
                PoolFailureReason.connectBackoff(lastError: TestConnectError(), retryAt: retryAt)
                    != .connectBackoff(lastError: TestConnectError(), retryAt: retryAt + 1))
        }

        @Test func withConnectionsOpenRequestsWaitForOneGivenBackEvenWhenTripped() {
            // "Too many clients": the server takes no more connections, but the pool holds one.
            var d = Driver(config(size: 2, timeout: .milliseconds(100)))
            let a = d.lease("A")
            guard case .open(_, let o) = d.request("B") else {
                Issue.record("B opens")
                return
            }
            let first = d.m.connectionOpenFailed(slot: o.slot, error: TestConnectError(), now: 0)
            let trial = d.m.connectRetryDue(now: try! #require(first.retryAt))
            // The trial fails 200 ms after the first failure (past the pool timeout): B still waits.
            let second = d.m.connectionOpenFailed(slot: trial.open[0].slot, error: TestConnectError(), now: 200 * ms)
            #expect(second.fail.isEmpty && d.m.breaker.isTripped(now: 200 * ms, patience: 100 * ms))
            guard case .wait = d.request("C", at: 201 * ms) else {
                Issue.record("C waits: a connection will come back")
                return
            }
            guard case .handOver(let lent, "B") = d.release(a, at: 510 * ms),
                case .handOver(_, "C") = d.release(lent, at: 520 * ms)
            else {
                Issue.record("B then C are served by the connection given back")
                return
            }
        }

        @Test func targetChangeClosesTheBreakerAndOpensForTheWaiters() {
            var d = Driver(config(size: 2))
            guard case .open(_, let o1) = d.request("R1") else {
                Issue.record("R1 opens")
                return
            }
            _ = d.m.connectionOpenFailed(slot: o1.slot, error: TestConnectError(), now: 0)
            let actions = d.m.targetChanged()
            d.check()
            #expect(d.m.breaker.isClosed && actions.open.count == 1 && d.m.generation == 1)
        }

        @Test func overflowConnectionsStayIdleForTheirLifetimeThenClose() {
            var d = Driver(config(size: 1, overflow: 2, overflowIdle: .seconds(1)))
            let a = d.lease("A")
            let b = d.lease("B")
            let c = d.lease("C")
            // Given back above pool size: kept idle (it used to be closed), and reused by the next checkout.
            guard case .none = d.release(c, at: 1 * ms) else {
                Issue.record("overflow kept idle")
                return
            }
            guard case .leased(let again) = d.request("D", at: 2 * ms), again.connection === c.connection else {
                Issue.record("D reuses the overflow connection without opening one")
                return
            }
            _ = d.release(again, at: 3 * ms)
            _ = d.release(b, at: 500 * ms)
            _ = d.release(a, at: 600 * ms)
            #expect(d.m.metrics().connectionsCreated == 3)
            #expect(d.m.maintenanceDue(laneIdle: 0, now: 900 * ms) == Actions())
            // c idle since 3 ms passes its lifetime first; b next; a never (pool size).
            #expect(d.m.maintenanceDue(laneIdle: 0, now: 1_003 * ms) == Actions(close: [c.connection]))
            d.check()
            #expect(d.m.maintenanceDue(laneIdle: 0, now: 5_000 * ms) == Actions(close: [b.connection]))
            d.check()
            let m = d.m.metrics()
            #expect(m.checkedIn == 1 && m.overflow == 0 && m.connectionsClosed == 2)
        }

        @Test func zeroOverflowLifetimeClosesOnCheckinAsBefore() {
            var d = Driver(config(size: 1, overflow: 1))
            let a = d.lease("A")
            let b = d.lease("B")
            guard case .close = d.release(b) else {
                Issue.record("closed when given back")
                return
            }
            _ = d.release(a)
        }

        @Test func keepalivePingsIdleConnectionsAndAWaiterGetsThePingedOne() {
            var d = Driver(config(size: 1, keepalive: .seconds(1)))
            let a = d.lease("A")
            _ = d.release(a, at: 0)
            #expect(d.m.maintenanceDue(laneIdle: 0, now: 999 * ms).ping.isEmpty)
            let tick = d.m.maintenanceDue(laneIdle: 0, now: 1_000 * ms)
            d.check()
            #expect(tick.ping.map(\.slot) == [a.slot] && d.m.metrics().checkedIn == 1)
            // A task arrives during the ping: it waits (the connection is busy being pinged), then gets it.
            guard case .wait = d.request("T", at: 1_001 * ms) else {
                Issue.record("T waits")
                return
            }
            let back = d.m.keepalivePinged(slot: a.slot, isAlive: true, now: 1_002 * ms)
            d.check()
            #expect(back.handOver.map(\.1) == ["T"])
            // Its idle time starts again: no ping before another second.
            _ = d.release(back.handOver[0].0, at: 1_003 * ms)
            #expect(d.m.maintenanceDue(laneIdle: 0, now: 1_500 * ms).ping.isEmpty)
        }

        @Test func deadKeepaliveConnectionIsClosedAndReplacedForAWaiter() {
            var d = Driver(config(size: 1, keepalive: .seconds(1)))
            let a = d.lease("A")
            _ = d.release(a, at: 0)
            _ = d.m.maintenanceDue(laneIdle: 0, now: 2_000 * ms)
            guard case .wait = d.request("T", at: 2_001 * ms) else {
                Issue.record("T waits")
                return
            }
            let back = d.m.keepalivePinged(slot: a.slot, isAlive: false, now: 2_002 * ms)
            d.check()
            #expect(back.close.count == 1 && back.open.count == 1 && d.m.metrics().invalidations == 1)
        }

        @Test func minimumIdleIsOpenedInTheBackgroundAndCountsTheLane() {
            var d = Driver(config(size: 4, minIdle: 2))
            let tick = d.m.maintenanceDue(laneIdle: 0, now: 0)
            d.check()
            #expect(tick.open.count == 2)
            // Opening: not again.
            #expect(d.m.maintenanceDue(laneIdle: 0, now: 1).open.isEmpty)
            for open in tick.open { #expect(d.open(open.slot, at: 2).handOver.isEmpty) }
            #expect(d.m.metrics().checkedIn == 2)
            // Both lent and parked in the lane (the machine counts them as lent): still two idle.
            let x = d.lease("X")
            let y = d.lease("Y")
            #expect(d.m.maintenanceDue(laneIdle: 2, now: 3).open.isEmpty)
            // Lent for real: two more, never above pool size.
            #expect(d.m.maintenanceDue(laneIdle: 0, now: 4).open.count == 2)
            _ = (x, y)
        }

        @Test func minimumIdleRefillIsTheBreakersTrialWhenDue() {
            var d = Driver(config(size: 2, minIdle: 1))
            let tick = d.m.maintenanceDue(laneIdle: 0, now: 0)
            _ = d.m.connectionOpenFailed(slot: tick.open[0].slot, error: TestConnectError(), now: 0)
            #expect(d.m.maintenanceDue(laneIdle: 0, now: 10 * ms).open.isEmpty)
            let trial = d.m.maintenanceDue(laneIdle: 0, now: 1_000 * ms)
            d.check()
            #expect(trial.open.count == 1 && d.m.breaker.state == .halfOpen)
        }
    }
}
