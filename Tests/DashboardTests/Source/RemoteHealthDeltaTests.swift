import ConnectionManager
import Foundation
import Testing

@testable import Dashboard

/// The remote source's health history against the service's router (`health_after`), without sockets: deltas
/// appended and trimmed to the service's window, and the whole history read again after a gap, a change of
/// target or a restart. The service side is real (``HealthHistory`` numbered as the manager numbers it, and
/// ``ControlRouter/snapshotResponse(_:eventsAfter:healthAfter:healthSequences:)``); only the transport is left out.
@Suite("Remote source: health deltas")
struct RemoteHealthDeltaTests {
    static let service = AttachedService(program: "orders-api", pid: 100, poolName: "orders-api", socketPath: "/s")

    /// A service's health state as the manager keeps it: one history per target, one sequence over all.
    struct FakeService {
        var histories: [HealthHistory]
        var current = 0
        var sequence = 0
        var startedAt = Fixtures.at(-7425)
        var checks = 0

        init(window: Int, targets: Int = 2) {
            histories = (0..<targets).map { _ in HealthHistory(capacity: window) }
        }

        mutating func check(_ count: Int, target: Int? = nil) {
            for _ in 0..<count {
                checks += 1
                sequence += 1
                let healthy = checks % 7 != 0
                histories[target ?? current].append(
                    HealthCheckResult(
                        healthy: healthy, responseTime: Double(checks) / 1000, checkedAt: Fixtures.at(Double(checks)),
                        target: "t\(target ?? current)"),
                    sequence: sequence)
            }
        }

        var snapshot: ManagerSnapshot {
            var snap = Fixtures.normal()
            snap.startedAt = startedAt
            snap.events = []
            snap.healthHistory = histories[current].results
            snap.lastHealthCheck = histories[current].latest
            snap.healthStats = histories[current].stats
            snap.failover.currentURL = "postgresql://db\(current)/orders"
            return snap
        }

        /// What `GET /v1/snapshot[?health_after=H]` answers, as the client reads it.
        func reply(healthAfter: Int?) throws -> ControlClient.SnapshotReply {
            let response = ControlRouter.snapshotResponse(
                snapshot, eventsAfter: nil, healthAfter: healthAfter, healthSequences: histories[current].sequences)
            let body = try ControlJSON.decoder().decode(ControlSnapshotResponse.self, from: response.body)
            return ControlClient.SnapshotReply(
                snapshot: body.snapshot, eventsCursor: body.eventsCursor, eventSequences: [],
                healthCursor: body.healthCursor, healthCount: body.healthCount,
                healthHistoryAfter: body.healthHistoryAfter)
        }
    }

    /// One poll as ``RemoteMonitorSource`` makes it: again at once, without cursors, when the core asks.
    static func poll(_ core: inout RemoteSourceCore, _ service: FakeService, at time: Double) throws {
        let reply = try service.reply(healthAfter: core.healthAfter)
        if core.snapshotArrived(reply, at: Fixtures.at(time)) {
            core.snapshotArrived(try service.reply(healthAfter: core.healthAfter), at: Fixtures.at(time))
        }
    }

    @Test func deltasAreAppendedAndTrimmedToTheWindow() throws {
        var again = false
        var service = FakeService(window: 10)
        service.check(4)
        var core = RemoteSourceCore(service: Self.service, first: try service.reply(healthAfter: nil), at: Fixtures.t0)
        #expect(core.healthAfter == 4)
        service.check(3)
        let delta = try service.reply(healthAfter: core.healthAfter)
        #expect(delta.healthHistoryAfter == 4 && delta.snapshot.healthHistory.count == 3, "only the newer checks")
        again = core.snapshotArrived(delta, at: Fixtures.at(1))
        #expect(!again)
        #expect(core.latest.healthHistory == service.histories[0].results && core.healthAfter == 7)
        service.check(6)  // 13 checks: the window of 10 has dropped the first 3
        again = core.snapshotArrived(try service.reply(healthAfter: core.healthAfter), at: Fixtures.at(2))
        #expect(!again)
        #expect(core.latest.healthHistory == service.histories[0].results)
        #expect(core.latest.healthHistory.count == 10)
        // Nothing new: an empty delta, the history stays.
        again = core.snapshotArrived(try service.reply(healthAfter: core.healthAfter), at: Fixtures.at(3))
        #expect(!again)
        #expect(core.latest.healthHistory == service.histories[0].results)
    }

    @Test func aGapBeyondTheWindowIsReadWhole() throws {
        var again = false
        var service = FakeService(window: 10)
        service.check(5)
        var core = RemoteSourceCore(service: Self.service, first: try service.reply(healthAfter: nil), at: Fixtures.t0)
        service.check(25)  // the cursor (5) was trimmed away
        let reply = try service.reply(healthAfter: core.healthAfter)
        #expect(reply.healthHistoryAfter == nil, "the service sends the whole window")
        again = core.snapshotArrived(reply, at: Fixtures.at(1))
        #expect(!again)
        #expect(core.latest.healthHistory == service.histories[0].results && core.healthAfter == 30)
    }

    @Test func aDeltaThatDoesNotContinueOurCursorIsReadAgain() throws {
        var again = false
        var service = FakeService(window: 10)
        service.check(5)
        var core = RemoteSourceCore(service: Self.service, first: try service.reply(healthAfter: nil), at: Fixtures.t0)
        service.check(2)
        // A delta after another cursor than ours (3, not 5): it cannot be placed.
        let foreign = try service.reply(healthAfter: 3)
        again = core.snapshotArrived(foreign, at: Fixtures.at(1))
        #expect(again, "poll again at once")
        #expect(core.healthAfter == nil)
        #expect(core.latest.healthHistory.count == 5, "ours stays until the whole one arrives")
        again = core.snapshotArrived(try service.reply(healthAfter: core.healthAfter), at: Fixtures.at(1))
        #expect(!again)
        #expect(core.latest.healthHistory == service.histories[0].results)
        // A delta that would leave fewer checks than the service holds (health_count): a gap.
        service.check(1)
        var short = try service.reply(healthAfter: core.healthAfter)
        short.healthCount = 12
        again = core.snapshotArrived(short, at: Fixtures.at(2))
        #expect(again)
        #expect(core.healthAfter == nil)
        // A delta without the window's length (it could not be trimmed): read whole as well.
        again = core.snapshotArrived(try service.reply(healthAfter: nil), at: Fixtures.at(3))
        #expect(!again)
        service.check(1)
        var unbounded = try service.reply(healthAfter: core.healthAfter)
        unbounded.healthCount = nil
        again = core.snapshotArrived(unbounded, at: Fixtures.at(4))
        #expect(again)
        #expect(core.healthAfter == nil)
    }

    @Test func aChangeOfTargetReadsTheNewTargetsHistoryWhole() throws {
        var again = false
        var service = FakeService(window: 10)
        service.check(6)
        service.check(4, target: 1)  // the other target's probes take sequences too
        var core = RemoteSourceCore(service: Self.service, first: try service.reply(healthAfter: nil), at: Fixtures.t0)
        service.current = 1
        service.check(2)
        let reply = try service.reply(healthAfter: core.healthAfter)
        #expect(reply.healthHistoryAfter == nil, "our cursor is not in target 1's history")
        again = core.snapshotArrived(reply, at: Fixtures.at(1))
        #expect(!again)
        #expect(core.latest.healthHistory == service.histories[1].results)
        #expect(core.latest.healthHistory.allSatisfy { $0.target == "t1" })
    }

    @Test func aRestartReadsEverythingAgain() throws {
        var again = false
        var service = FakeService(window: 10)
        service.check(8)
        var core = RemoteSourceCore(service: Self.service, first: try service.reply(healthAfter: nil), at: Fixtures.t0)
        // A new process on the same socket: sequences start over, and 3 happens to be in its history.
        service = FakeService(window: 10)
        service.startedAt = Fixtures.at(0)
        service.check(5)
        let reply = try service.reply(healthAfter: 3)
        again = core.snapshotArrived(reply, at: Fixtures.at(1))
        #expect(again, "a restart: poll again at once")
        #expect(core.healthAfter == nil && core.eventsAfter == nil)
        again = core.snapshotArrived(try service.reply(healthAfter: core.healthAfter), at: Fixtures.at(1))
        #expect(!again)
        #expect(core.latest.healthHistory == service.histories[0].results)
        // A new pid seen by /v1/info drops the cursor as well.
        core.pollFailed("the socket is gone")
        core.infoArrived(.init(poolName: "orders-api", pid: 200, program: "orders-api"), path: "/s")
        #expect(core.healthAfter == nil)
    }

    @Test func aServiceWithoutHealthCursorsIsReadWholeEveryTime() throws {
        var again = false
        var service = FakeService(window: 10)
        service.check(4)
        var old = try service.reply(healthAfter: nil)
        old.healthCursor = nil
        old.healthCount = nil
        var core = RemoteSourceCore(service: Self.service, first: old, at: Fixtures.t0)
        #expect(core.healthAfter == nil)
        service.check(1)
        old = try service.reply(healthAfter: nil)
        old.healthCursor = nil
        again = core.snapshotArrived(old, at: Fixtures.at(1))
        #expect(!again)
        #expect(core.latest.healthHistory == service.histories[0].results)
    }

    /// Many polls with every kind of turn: what the dashboard holds is always what the service holds.
    @Test func afterManyPollsTheHistoryIsTheServices() throws {
        var service = FakeService(window: 30)
        service.check(3)
        var core = RemoteSourceCore(service: Self.service, first: try service.reply(healthAfter: nil), at: Fixtures.t0)
        var deltas = 0
        for step in 1...400 {
            switch step % 97 {
            case 13: service.check(45)  // beyond the window between two polls
            case 41: service.current = 1 - service.current
            case 70:
                service = FakeService(window: 30)
                service.startedAt = Fixtures.at(Double(step))
            default: service.check(step % 4)
            }
            if step % 5 == 0 { service.check(1, target: 1 - service.current) }
            if core.healthAfter != nil { deltas += 1 }
            try Self.poll(&core, service, at: Double(step))
            #expect(core.latest.healthHistory == service.histories[service.current].results, "step \(step)")
            #expect(core.latest.healthStats == service.histories[service.current].stats)
        }
        #expect(deltas > 350, "most polls were deltas")
    }
}
