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

@Suite("StackCaptureMode")
struct StackCaptureModeTests {
    @Test(arguments: [
        (StackCaptureMode.off, [false, false, false, false, false, false]),
        (.always, [true, true, true, true, true, true]),
        (.sampled(every: 3), [true, false, false, true, false, false]),
        (.sampled(every: 1), [true, true, true, true, true, true]),
        (.sampled(every: 0), [true, true, true, true, true, true]),
    ])
    func capturesTheRightCheckouts(mode: StackCaptureMode, expected: [Bool]) {
        #expect((0..<6).map { mode.shouldCapture(checkoutNumber: $0) } == expected)
    }

    @Test func sampledCapturesOneInN() {
        let captured = (0..<1000).filter { StackCaptureMode.sampled(every: 100).shouldCapture(checkoutNumber: $0) }
        #expect(captured == Array(stride(from: 0, to: 1000, by: 100)))
    }
}

@Suite("ServerActivityQuery")
struct ServerActivityQueryTests {
    @Test func mapsATextRow() {
        let row: [String?] = [
            "4711", "idle in transaction", "1700000000.25", "1700000001", nil, "UPDATE t SET x = 1", "Client",
            "ClientRead", "worker",
        ]
        #expect(
            ServerActivityQuery.activity(row: row)
                == ServerActivity(
                    pid: 4711, state: "idle in transaction", xactStart: Date(timeIntervalSince1970: 1_700_000_000.25),
                    queryStart: Date(timeIntervalSince1970: 1_700_000_001), stateChange: nil,
                    query: "UPDATE t SET x = 1", waitEventType: "Client", waitEvent: "ClientRead",
                    applicationName: "worker"))
    }

    @Test func rejectsMalformedRows() {
        #expect(ServerActivityQuery.activity(row: ["4711"]) == nil)
        #expect(ServerActivityQuery.activity(row: [nil, nil, nil, nil, nil, nil, nil, nil, nil]) == nil)
        #expect(ServerActivityQuery.activity(row: ["x", nil, nil, nil, nil, nil, nil, nil, nil]) == nil)
    }

    @Test func parameterIsAnArrayLiteral() {
        #expect(ServerActivityQuery.parameter(pids: [4711, 4712]) == "{4711,4712}")
        #expect(ServerActivityQuery.parameter(pids: []) == "{}")
        #expect(ServerActivityQuery.sql.contains("pg_stat_activity"))
        #expect(ServerActivityQuery.sql.contains("$1::int[]"))
    }
}
