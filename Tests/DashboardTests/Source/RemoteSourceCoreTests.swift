import ConnectionManager
import Foundation
import Testing

@testable import Dashboard

/// The remote source's decisions without sockets or clocks: events merged by cursor, live → stale → live,
/// a restarted service's events replaced rather than merged.
@Suite("Remote source decisions")
struct RemoteSourceCoreTests {
    static let service = AttachedService(program: "orders-api", pid: 100, poolName: "orders-api", socketPath: "/s")

    static func event(_ n: Int) -> PoolEvent { PoolEvent(at: Fixtures.at(Double(n)), kind: .info, message: "e\(n)") }

    static func reply(events: [Int], cursor: Int?, startedAt: Date = Fixtures.at(-7425)) -> ControlClient.SnapshotReply
    {
        var snap = Fixtures.normal()
        snap.startedAt = startedAt
        snap.events = events.map(event)
        return ControlClient.SnapshotReply(
            snapshot: snap, eventsCursor: cursor, eventSequences: events.map { cursor == nil ? nil : $0 })
    }

    @Test func eventsMergeByCursor() {
        var core = RemoteSourceCore(
            service: Self.service, first: Self.reply(events: [1, 2, 3], cursor: 3), at: Fixtures.t0)
        #expect(core.eventsAfter == 3)
        let restarted = core.snapshotArrived(Self.reply(events: [4, 5], cursor: 5), at: Fixtures.at(1))
        #expect(!restarted)
        #expect(core.latest.events.map(\.message) == ["e1", "e2", "e3", "e4", "e5"])
        #expect(core.eventsAfter == 5)
        // A service that ignores events_after repeats old events: they are not added twice.
        core.snapshotArrived(Self.reply(events: [3, 4, 5, 6], cursor: 6), at: Fixtures.at(2))
        #expect(core.latest.events.map(\.message) == ["e1", "e2", "e3", "e4", "e5", "e6"])
        // Nothing new: the merged log stays.
        core.snapshotArrived(Self.reply(events: [], cursor: 6), at: Fixtures.at(3))
        #expect(core.latest.events.count == 6)
    }

    @Test func mergedLogIsBounded() {
        var core = RemoteSourceCore(service: Self.service, first: Self.reply(events: [], cursor: 0), at: Fixtures.t0)
        for batch in 0..<30 {
            let events = (1...20).map { batch * 20 + $0 }
            core.snapshotArrived(Self.reply(events: events, cursor: events.last), at: Fixtures.at(Double(batch)))
        }
        #expect(core.latest.events.count == RemoteSourceCore.retainedEvents)
        #expect(core.latest.events.last?.message == "e600")
    }

    @Test func withoutSequencesTheServiceListIsTaken() {
        var core = RemoteSourceCore(
            service: Self.service, first: Self.reply(events: [1, 2], cursor: nil), at: Fixtures.t0)
        #expect(core.eventsAfter == nil)
        core.snapshotArrived(Self.reply(events: [1, 2, 3], cursor: nil), at: Fixtures.at(1))
        #expect(core.latest.events.map(\.message) == ["e1", "e2", "e3"])
    }

    @Test func liveStaleLive() {
        var core = RemoteSourceCore(service: Self.service, first: Self.reply(events: [1], cursor: 1), at: Fixtures.t0)
        #expect(core.status(now: Fixtures.at(5)) == .live)
        core.pollFailed("connection refused")
        #expect(core.needsInfo, "after a failure the service may be another process: ask who it is")
        #expect(
            core.status(now: Fixtures.at(12))
                == .stale(since: Fixtures.t0, reason: "connection refused", checkedAt: Fixtures.at(12)))
        let shown = core.latest
        core.pollFailed("the socket is gone")
        #expect(core.latest == shown, "the last state stays on screen")
        #expect(
            core.status(now: Fixtures.at(20))
                == .stale(since: Fixtures.t0, reason: "the socket is gone", checkedAt: Fixtures.at(20)))
        core.infoArrived(.init(poolName: "orders-api", pid: 100, program: "orders-api"), path: "/s")
        core.snapshotArrived(Self.reply(events: [2], cursor: 2), at: Fixtures.at(21))
        #expect(core.status(now: Fixtures.at(21)) == .live)
        #expect(core.latest.events.map(\.message) == ["e1", "e2"], "same process: merged as before")
    }

    @Test func aNewPidStartsTheEventsOver() {
        var core = RemoteSourceCore(
            service: Self.service, first: Self.reply(events: [1, 2, 3], cursor: 3), at: Fixtures.t0)
        core.pollFailed("the socket is gone")
        core.socketMoved(to: "/dir/orders-api.200.sock")
        #expect(core.service.socketPath == "/dir/orders-api.200.sock")
        core.infoArrived(
            .init(poolName: "orders-api", pid: 200, program: "orders-api", access: "read"),
            path: "/dir/orders-api.200.sock")
        #expect(core.service.pid == 200 && !core.service.mayAct)
        #expect(core.eventsAfter == nil, "the new process's events are read from the start")
        core.snapshotArrived(Self.reply(events: [1], cursor: 1, startedAt: Fixtures.at(0)), at: Fixtures.at(30))
        #expect(core.latest.events.map(\.message) == ["e1"])
    }

    @Test func aRestartSeenOnlyInTheSnapshotAsksAgain() {
        var core = RemoteSourceCore(
            service: Self.service, first: Self.reply(events: [1, 2, 3], cursor: 3), at: Fixtures.t0)
        // Same path, new process between two polls: the start time changed and the cursor went back.
        let restarted = core.snapshotArrived(
            Self.reply(events: [], cursor: 1, startedAt: Fixtures.at(0)), at: Fixtures.at(1))
        #expect(restarted)
        #expect(core.needsInfo && core.eventsAfter == nil)
        #expect(core.latest.events.isEmpty)
        #expect(core.status(now: Fixtures.at(1)) == .live)
    }
}
