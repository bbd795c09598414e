import ConnectionManager
import Foundation
import Testing

/// The snapshot JSON is a contract with other processes (`pooltop attach`, scripts): its keys are pinned by a
/// golden file, and what is written reads back as the same value.
@Suite("Snapshot JSON")
struct ManagerSnapshotJSONTests {
    static let t0 = Date(timeIntervalSince1970: 1_714_564_800.25)

    static func sample() -> ManagerSnapshot {
        let url = "postgresql://app:***@db1.internal:5432/orders"
        let check = HealthCheckResult(
            healthy: true, responseTime: 0.0012, checkedAt: t0, target: url, isInRecovery: false,
            serverVersion: "15.18")
        let info = ConnectionInfo(
            connectionID: 7, backendPID: 4242, checkedOutAt: t0.addingTimeInterval(-320), threadName: "worker-3",
            lastSQL: "UPDATE orders SET state = $1 WHERE id = $2", target: url)
        return ManagerSnapshot(
            takenAt: t0, startedAt: t0.addingTimeInterval(-3600),
            metrics: PoolMetrics(
                size: 10, maxOverflow: 5, checkedIn: 4, checkedOut: 6, totalCheckouts: 100, totalCheckins: 94,
                connectionsCreated: 10, leakedConnections: 1, utilization: 0.6,
                waitTime: LatencySummary(p50: 0.0001, p95: 0.0002, p99: 0.0003, max: 0.001, count: 100),
                generation: 1),
            utilizationHistory: [0.5, 0.6], lastHealthCheck: check, healthHistory: [check],
            healthStats: HealthStats(totalChecks: 1, healthyChecks: 1, avgResponseTime: 0.0012, currentStreak: 1),
            leaks: [
                LeakReport(
                    info: info, heldFor: 320, detectedAt: t0.addingTimeInterval(-20),
                    server: ServerActivity(pid: 4242, state: "idle in transaction", applicationName: "orders"))
            ],
            returnedLeaks: [
                ReturnedLeak(
                    info: ConnectionInfo(
                        connectionID: 3, backendPID: 4100, checkedOutAt: t0.addingTimeInterval(-900),
                        threadName: "worker-1", target: url), heldFor: 400, returnedAt: t0.addingTimeInterval(-500))
            ],
            totalLeaked: 2, activeConnections: 6, leakThreshold: 300,
            failover: FailoverStats(
                currentURL: url, isPrimary: true, enabled: true,
                targets: [TargetStatus(index: 0, url: url, role: .primary, healthy: true, isCurrent: true)]),
            events: [
                PoolEvent(
                    at: t0.addingTimeInterval(-20), kind: .leakDetected, message: "Connection #7 leaked.", sequence: 7)
            ],
            server: ServerOverview.build(
                sessions: [
                    ServerSession(
                        pid: 4242, user: "app", application: "orders", state: "idle in transaction",
                        query: "UPDATE orders SET state = $1 WHERE id = $2", transactionAge: 320, queryAge: 319,
                        stateAge: 319),
                    ServerSession(
                        pid: 5001, user: "app", application: "billing", client: "10.0.0.7/32", database: "orders",
                        state: "active", query: "UPDATE orders SET paid = true WHERE id = 9", waitEventType: "Lock",
                        waitEvent: "transactionid", transactionAge: 41, queryAge: 41, stateAge: 41, blockedBy: [4242],
                        waitingFor: WaitingLock(lockType: "transactionid", mode: "ShareLock", waitingFor: 41)),
                ], takenAt: t0, target: url,
                pool: [4242: PoolMark(connectionID: 7, isCheckedOut: true, isLeak: true)], blockedThreshold: 5))
    }

    @Test("keys and formats match the golden file")
    func golden() throws {
        let data = try ControlJSON.encoder(pretty: true).encode(Self.sample())
        let text = String(decoding: data, as: UTF8.self) + "\n"
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Golden/Control/snapshot-v1.json")
        if ProcessInfo.processInfo.environment["POOLTOP_UPDATE_GOLDEN"] == "1" {
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: url, encoding: .utf8)
        #expect(text == golden)
    }

    @Test("what is written reads back as the same snapshot")
    func roundTrip() throws {
        let sample = Self.sample()
        let data = try ControlJSON.encoder().encode(sample)
        let decoded = try ControlJSON.decoder().decode(ManagerSnapshot.self, from: data)
        #expect(decoded == sample)
    }

    @Test("a snapshot from a service without the server overview still reads (the key is optional)")
    func withoutServer() throws {
        let data = try ControlJSON.encoder().encode(Self.sample())
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["server"] != nil)
        object["server"] = nil
        let older = try JSONSerialization.data(withJSONObject: object)
        let decoded = try ControlJSON.decoder().decode(ManagerSnapshot.self, from: older)
        #expect(decoded.server == nil)
        #expect(decoded.leaks == Self.sample().leaks)
    }

    @Test("a stack stays in its process; the JSON says one was captured")
    func stackIsNotSerialized() throws {
        var sample = Self.sample()
        sample.leaks[0].info.stack = CapturedStack.capture()
        let data = try ControlJSON.encoder().encode(sample)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let leaks = try #require(object["leaks"] as? [[String: Any]])
        let info = try #require(leaks.first?["info"] as? [String: Any])
        #expect(info["has_stack"] as? Bool == true)
        let decoded = try ControlJSON.decoder().decode(ManagerSnapshot.self, from: data)
        #expect(decoded.leaks[0].info.stack == nil)
    }

    @Test("timestamps without fractional seconds are read too")
    func timestampsWithoutFraction() throws {
        #expect(ControlJSON.parse("2024-05-01T12:00:00Z") == Date(timeIntervalSince1970: 1_714_564_800))
        #expect(ControlJSON.parse("2024-05-01T12:00:00.250Z") == Self.t0)
        #expect(ControlJSON.parse("yesterday") == nil)
    }
}
