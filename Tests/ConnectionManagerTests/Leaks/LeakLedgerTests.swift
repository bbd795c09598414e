import ConnectionManager
import Foundation
import Testing

@Suite("LeakLedger")
struct LeakLedgerTests {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    static func info(_ id: Int, at seconds: Double, expectedLong: Bool = false) -> ConnectionInfo {
        ConnectionInfo(
            connectionID: id, backendPID: Int32(1000 + id), checkedOutAt: t0 + seconds, threadName: "worker-\(id)",
            lastSQL: "SELECT \(id)", isExpectedLong: expectedLong, target: "postgresql://db/app")
    }

    @Test func detectsALeakExactlyOnceAfterTheThreshold() {
        var ledger = LeakLedger()
        let held = [Self.info(1, at: 0)]
        #expect(ledger.update(checkedOut: held, threshold: .seconds(10), now: Self.t0 + 5).isEmpty)
        // Exactly at the threshold is not yet a leak (strictly longer).
        #expect(ledger.update(checkedOut: held, threshold: .seconds(10), now: Self.t0 + 10).isEmpty)
        let changes = ledger.update(checkedOut: held, threshold: .seconds(10), now: Self.t0 + 10.5)
        #expect(changes.detected.map(\.info.connectionID) == [1])
        #expect(changes.detected.first?.heldFor == 10.5)
        #expect(changes.detected.first?.detectedAt == Self.t0 + 10.5)
        for later in [11.0, 20, 60] {
            #expect(ledger.update(checkedOut: held, threshold: .seconds(10), now: Self.t0 + later).isEmpty)
        }
        #expect(ledger.totalLeaked == 1)
        let current = ledger.leaks(now: Self.t0 + 61)
        #expect(current.map(\.heldFor) == [61])
        #expect(current.first?.detectedAt == Self.t0 + 10.5)
    }

    @Test func expectedLongSessionsAreNeverFlagged() {
        var ledger = LeakLedger()
        let held = [Self.info(1, at: 0, expectedLong: true), Self.info(2, at: 0)]
        let changes = ledger.update(checkedOut: held, threshold: .seconds(1), now: Self.t0 + 3600)
        #expect(changes.detected.map(\.info.connectionID) == [2])
        #expect(ledger.leaks(now: Self.t0 + 3600).map(\.info.connectionID) == [2])
        // Marked long after being flagged: dropped without being reported as returned.
        let vouched = [Self.info(1, at: 0, expectedLong: true), Self.info(2, at: 0, expectedLong: true)]
        #expect(ledger.update(checkedOut: vouched, threshold: .seconds(1), now: Self.t0 + 3601).isEmpty)
        #expect(ledger.leaks(now: Self.t0 + 3601).isEmpty)
        #expect(ledger.totalLeaked == 1)
    }

    @Test func currentLeaksAreOldestFirst() {
        var ledger = LeakLedger()
        let held = [Self.info(3, at: 30), Self.info(1, at: 10), Self.info(2, at: 20), Self.info(4, at: 95)]
        let changes = ledger.update(checkedOut: held, threshold: .seconds(60), now: Self.t0 + 100)
        #expect(changes.detected.map(\.info.connectionID) == [1, 2, 3])
        #expect(ledger.leaks(now: Self.t0 + 100).map(\.info.connectionID) == [1, 2, 3])
        #expect(ledger.leaks(now: Self.t0 + 100).map(\.heldFor) == [90, 80, 70])
        // Same instant: by connection id, whatever the dictionary order.
        var ties = LeakLedger()
        let same = (1...20).reversed().map { Self.info($0, at: 0) }
        #expect(
            ties.update(checkedOut: same, threshold: .seconds(1), now: Self.t0 + 5).detected.map(\.info.connectionID)
                == Array(1...20))
        #expect(ties.leaks(now: Self.t0 + 5).map(\.info.connectionID) == Array(1...20))
        #expect(ledger.leakedBackendPIDs == [1001, 1002, 1003])
        #expect(ledger.totalLeaked == 3)
    }

    @Test func returnedLeaksAreReportedOnceListedNewestFirstAndTimeOut() {
        var ledger = LeakLedger(returnedCapacity: 20, returnedRetention: .seconds(60))
        _ = ledger.update(
            checkedOut: [Self.info(1, at: 0), Self.info(2, at: 1)], threshold: .seconds(5), now: Self.t0 + 10)
        let first = ledger.update(checkedOut: [Self.info(2, at: 1)], threshold: .seconds(5), now: Self.t0 + 12)
        #expect(first.returned == [ReturnedLeak(info: Self.info(1, at: 0), heldFor: 12, returnedAt: Self.t0 + 12)])
        let second = ledger.update(checkedOut: [], threshold: .seconds(5), now: Self.t0 + 20)
        #expect(second.returned.map(\.info.connectionID) == [2])
        #expect(second.returned.first?.heldFor == 19)
        #expect(ledger.update(checkedOut: [], threshold: .seconds(5), now: Self.t0 + 21).isEmpty)
        #expect(ledger.returnedLeaks(now: Self.t0 + 21).map(\.info.connectionID) == [2, 1])
        // Connection 1 returned at +12 expires after +72, connection 2 after +80.
        #expect(ledger.returnedLeaks(now: Self.t0 + 75).map(\.info.connectionID) == [2])
        _ = ledger.update(checkedOut: [], threshold: .seconds(5), now: Self.t0 + 81)
        #expect(ledger.returnedLeaks(now: Self.t0 + 81).isEmpty)
        #expect(ledger.leaks(now: Self.t0 + 81).isEmpty)
        #expect(ledger.totalLeaked == 2)
    }

    @Test func returnedListIsBounded() {
        var ledger = LeakLedger(returnedCapacity: 3)
        for id in 0..<10 {
            _ = ledger.update(
                checkedOut: [Self.info(id, at: Double(id))], threshold: .seconds(1), now: Self.t0 + Double(id) + 2)
            _ = ledger.update(checkedOut: [], threshold: .seconds(1), now: Self.t0 + Double(id) + 3)
        }
        #expect(ledger.returnedLeaks(now: Self.t0 + 13).map(\.info.connectionID) == [9, 8, 7])
        #expect(ledger.totalLeaked == 10)
    }

    @Test func aReusedConnectionIsANewCheckout() {
        var ledger = LeakLedger()
        _ = ledger.update(checkedOut: [Self.info(1, at: 0)], threshold: .seconds(5), now: Self.t0 + 10)
        // Returned and checked out again between two updates.
        let changes = ledger.update(checkedOut: [Self.info(1, at: 9)], threshold: .seconds(5), now: Self.t0 + 11)
        #expect(changes.returned.map(\.heldFor) == [11])
        #expect(changes.detected.isEmpty)
        #expect(ledger.leaks(now: Self.t0 + 11).isEmpty)
        let again = ledger.update(checkedOut: [Self.info(1, at: 9)], threshold: .seconds(5), now: Self.t0 + 15)
        #expect(again.detected.map(\.heldFor) == [6])
        #expect(ledger.totalLeaked == 2)
    }

    @Test func serverActivityIsMergedByBackendPID() {
        var ledger = LeakLedger()
        _ = ledger.update(
            checkedOut: [Self.info(1, at: 0), Self.info(2, at: 0)], threshold: .seconds(5), now: Self.t0 + 10)
        let idle = ServerActivity(pid: 1001, state: "idle in transaction", xactStart: Self.t0 + 1, query: "UPDATE t")
        let stranger = ServerActivity(pid: 4242, state: "active")
        ledger.updateServerActivity([1001: idle, 4242: stranger])
        let reports = ledger.leaks(now: Self.t0 + 11)
        #expect(reports.map(\.server) == [idle, nil])
        // A fresh fetch replaces the old view: pid 1001 is gone from the server.
        ledger.updateServerActivity([:])
        #expect(ledger.leaks(now: Self.t0 + 12).map(\.server) == [nil, nil])
        // Detected reports also carry the known view.
        ledger.updateServerActivity([1001: idle])
        _ = ledger.update(checkedOut: [Self.info(1, at: 0)], threshold: .seconds(5), now: Self.t0 + 13)
        #expect(ledger.leaks(now: Self.t0 + 13).first?.server == idle)
    }

    @Test func terminatedLeaksAreNeitherReturnedNorDetectedAgain() {
        var ledger = LeakLedger()
        let held = [Self.info(1, at: 0), Self.info(2, at: 0)]
        _ = ledger.update(checkedOut: held, threshold: .seconds(5), now: Self.t0 + 10)
        let report = ledger.markTerminated(1, now: Self.t0 + 11)
        #expect(report?.info.connectionID == 1)
        #expect(report?.heldFor == 11)
        #expect(ledger.markTerminated(1, now: Self.t0 + 11) == nil)
        #expect(ledger.markTerminated(99, now: Self.t0 + 11) == nil)
        #expect(ledger.leaks(now: Self.t0 + 11).map(\.info.connectionID) == [2])
        // The pool still lists it until the holder gives the handle back.
        #expect(ledger.update(checkedOut: held, threshold: .seconds(5), now: Self.t0 + 12).isEmpty)
        #expect(ledger.update(checkedOut: [Self.info(2, at: 0)], threshold: .seconds(5), now: Self.t0 + 13).isEmpty)
        #expect(ledger.returnedLeaks(now: Self.t0 + 13).isEmpty)
        #expect(ledger.totalLeaked == 2)
    }
}
