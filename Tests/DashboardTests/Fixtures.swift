import ConnectionManager
import Foundation

@testable import Dashboard

/// Fixed snapshots for golden tests: all times relative to one fixed instant.
enum Fixtures {
    static let t0 = Date(timeIntervalSince1970: 1_714_564_800)  // 2024-05-01 12:00:00 UTC
    static let primaryURL = "postgresql://app:***@db1.internal:5432/orders"
    static let standbyURL = "postgresql://app:***@db2.internal:5432/orders"

    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    static func targets(current: Int = 0, standbyHealthy: Bool = true, primaryHealthy: Bool = true) -> [TargetStatus] {
        [
            TargetStatus(
                index: 0, url: primaryURL, role: primaryHealthy ? .primary : .unreachable, healthy: primaryHealthy,
                isCurrent: current == 0),
            TargetStatus(index: 1, url: standbyURL, role: .standby, healthy: standbyHealthy, isCurrent: current == 1),
        ]
    }

    static func health(count: Int, failing: Set<Int> = []) -> [HealthCheckResult] {
        (0..<count).map { i in
            let ok = !failing.contains(i)
            return HealthCheckResult(
                healthy: ok, responseTime: ok ? 0.0008 + Double((i * 7) % 10) * 0.0003 : 0,
                error: ok
                    ? nil : "connection to server at \"db1.internal\" (10.0.0.5), port 5432 failed: Connection refused",
                checkedAt: at(Double(i - count) * 5), target: primaryURL, isInRecovery: ok ? false : nil)
        }
    }

    static func utilization(count: Int, base: Double) -> [Double] {
        (0..<count).map { i in max(0, base + sin(Double(i) / 4) * 0.25) }
    }

    static let events: [PoolEvent] = [
        PoolEvent(at: at(-3600), kind: .info, message: "Pool started with 10 connections on db1.internal:5432."),
        PoolEvent(at: at(-1800), kind: .healthCheckFailed, message: "Health check failed: connection refused."),
        PoolEvent(at: at(-1795), kind: .healthRecovered, message: "Health check passed again after 5 s."),
        PoolEvent(at: at(-600), kind: .leakDetected, message: "Connection #17 held for 300 s by worker-3."),
        PoolEvent(at: at(-120), kind: .poolTimeout, message: "A checkout timed out after 30 s (pool saturated)."),
        PoolEvent(at: at(-30), kind: .evicted, message: "Evicted 2 idle connections."),
    ]

    /// A calm pool: 60 % used, healthy, one returned leak.
    static func normal() -> ManagerSnapshot {
        ManagerSnapshot(
            takenAt: t0, startedAt: at(-7425),
            metrics: PoolMetrics(
                size: 10, maxOverflow: 5, checkedIn: 4, checkedOut: 6, totalCheckouts: 12345, totalCheckins: 12339,
                connectionsCreated: 10, utilization: 0.6, generation: 1),
            utilizationHistory: utilization(count: 120, base: 0.5),
            lastHealthCheck: health(count: 60).last, healthHistory: health(count: 60),
            healthStats: HealthStats(
                totalChecks: 1440, healthyChecks: 1438, failedChecks: 2, successRate: 0.9986, avgResponseTime: 0.0012,
                p95ResponseTime: 0.0031, currentStreak: 60, streakHealthy: true),
            returnedLeaks: [
                ReturnedLeak(
                    info: ConnectionInfo(
                        connectionID: 12, backendPID: 4100, checkedOutAt: at(-900), threadName: "report-job",
                        lastSQL: "SELECT count(*) FROM orders", target: primaryURL),
                    heldFor: 340, returnedAt: at(-560))
            ],
            totalLeaked: 1, activeConnections: 6, leakThreshold: 300,
            failover: FailoverStats(
                currentURL: primaryURL, isPrimary: true, failoverCount: 0, enabled: true, targets: targets()),
            events: Array(events.prefix(3)) + [events[5]])
    }

    static func leak(_ id: Int, heldFor: Double, thread: String, sql: String?, state: String?) -> LeakReport {
        LeakReport(
            info: ConnectionInfo(
                connectionID: id, backendPID: Int32(4000 + id), checkedOutAt: at(-heldFor), threadName: thread,
                lastSQL: sql, target: primaryURL),
            heldFor: heldFor, detectedAt: at(-heldFor + 300),
            server: state.map {
                ServerActivity(
                    pid: Int32(4000 + id), state: $0, xactStart: at(-heldFor + 1), query: sql,
                    waitEventType: "Client", waitEvent: "ClientRead")
            })
    }

    /// Saturated: 13 of 10 with 3 overflow, waiters, timeouts, leaks, sustained high utilization.
    static func overflow() -> ManagerSnapshot {
        var s = normal()
        s.metrics = PoolMetrics(
            size: 10, maxOverflow: 5, checkedIn: 0, checkedOut: 13, overflow: 3, waiting: 4, totalCheckouts: 99821,
            connectionsCreated: 16, timeouts: 7, leakedConnections: 3, utilization: 1.3, generation: 1)
        s.recent = RecentActivity(window: 60, timeouts: 7)
        s.utilizationHistory = utilization(count: 120, base: 0.7) + Array(repeating: 1.3, count: 20)
        s.leaks = leaks()
        s.events = events
        return s
    }

    static func leaks() -> [LeakReport] {
        [
            leak(
                17, heldFor: 723, thread: "worker-3", sql: "SELECT * FROM orders WHERE customer_id = $1 FOR UPDATE",
                state: "idle in transaction"),
            leak(
                23, heldFor: 412, thread: "http-handler-12", sql: "UPDATE carts SET total = $1 WHERE id = $2",
                state: "idle in transaction"),
            leak(31, heldFor: 305, thread: "batch-export", sql: nil, state: "idle"),
        ]
    }

    /// The primary is down: failed checks, unhealthy, standby still healthy.
    static func unhealthy() -> ManagerSnapshot {
        var s = normal()
        let history = health(count: 60, failing: [30, 55, 56, 57, 58, 59])
        s.healthHistory = history
        s.lastHealthCheck = history.last
        s.health = HealthVerdict(state: .failing, since: history.last?.checkedAt, detail: history.last?.error)
        s.healthStats = HealthStats(
            totalChecks: 1440, healthyChecks: 1434, failedChecks: 6, successRate: 0.9, avgResponseTime: 0.0012,
            p95ResponseTime: 0.0031, currentStreak: 5, streakHealthy: false)
        s.metrics.connectFailures = 12
        s.failover.targets = targets(primaryHealthy: false)
        s.failover.history = [
            FailoverEvent(
                from: primaryURL, to: standbyURL, reason: .automatic, at: at(-20), duration: 0,
                refusal: "db2.internal is a standby (pg_is_in_recovery = t)")
        ]
        s.events =
            events + [
                PoolEvent(at: at(-25), kind: .healthCheckFailed, message: "Health check failed: connection refused."),
                PoolEvent(at: at(-20), kind: .failoverRefused, message: "Failover refused: db2.internal is a standby."),
            ]
        return s
    }

    /// Saturated, and leak #17 (pid 4017) holds a row lock that 8 pgbench sessions wait behind, for up to 41 s.
    /// One application name and one query carry hostile text (bidi override, zero-width space, an escape).
    static func blocked() -> ManagerSnapshot {
        var s = overflow()
        let waiting = (1...8).map { i -> ServerSession in
            let pid = Int32(5000 + i)
            let seconds = 42.0 - Double(i) * 4
            return ServerSession(
                pid: pid, user: "bench", application: "pgbench", client: "10.0.0.9/32", database: "orders",
                state: "active", query: "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 1",
                waitEventType: "Lock", waitEvent: i == 1 ? "transactionid" : "tuple", transactionAge: seconds,
                queryAge: seconds, stateAge: seconds, blockedBy: i == 1 ? [4017] : [5001],
                waitingFor: WaitingLock(
                    lockType: i == 1 ? "transactionid" : "tuple", mode: i == 1 ? "ShareLock" : "ExclusiveLock",
                    relation: i == 1 ? nil : "pgbench_accounts", waitingFor: seconds))
        }
        let others = [
            ServerSession(
                pid: 4017, user: "app", application: "orders-api", client: "10.0.0.4/32", database: "orders",
                state: "idle in transaction", query: "SELECT * FROM orders WHERE customer_id = $1 FOR UPDATE",
                waitEventType: "Client", waitEvent: "ClientRead", transactionAge: 722, queryAge: 700, stateAge: 700),
            ServerSession(
                pid: 4100, user: "app", application: "orders-api", state: "idle", query: "SELECT 1", stateAge: 3),
            ServerSession(
                pid: 6001, user: "report", application: "evil\u{202E}gnp\u{200B}", state: "active",
                query: "SELECT '\u{1B}[31mred' FROM big_table\nWHERE x > 0", waitEventType: "IO",
                waitEvent: "DataFileRead", transactionAge: 95, queryAge: 95, stateAge: 95),
            ServerSession(pid: 6002, user: "ops", application: "psql", state: "idle", stateAge: 1200),
        ]
        s.server = ServerOverview.build(
            sessions: others + waiting, takenAt: t0, target: primaryURL,
            pool: [
                4017: PoolMark(connectionID: 17, isCheckedOut: true, isLeak: true), 4100: PoolMark(isCheckedOut: false),
            ], blockedThreshold: 5)
        return s
    }

    static func stack() -> [StackFrame] {
        let names = [
            (
                "ConnectionManager.ConnectionPool.checkout(timeout:)",
                "Sources/ConnectionManager/Pool/ConnectionPool.swift", 211
            ),
            ("ConnectionManager.ConnectionManager.session()", "Sources/ConnectionManager/ConnectionManager.swift", 88),
            ("OrdersService.OrderRepository.lockOrders(for:)", "Sources/OrdersService/OrderRepository.swift", 142),
            ("OrdersService.CheckoutHandler.handle(_:)", "Sources/OrdersService/CheckoutHandler.swift", 57),
            ("OrdersService.Router.dispatch(_:)", "Sources/OrdersService/Router.swift", 33),
            ("closure #1 in OrdersService.Server.start()", "Sources/OrdersService/Server.swift", 71),
        ]
        var frames = names.enumerated().map { i, n in StackFrame(index: i, symbol: n.0, file: n.1, line: n.2) }
        for i in frames.count..<24 {
            frames.append(StackFrame(index: i, symbol: "0x00005555555\(5000 + i * 16)", image: "orders"))
        }
        return frames
    }

    static func state(_ snap: ManagerSnapshot?, width: Int = 80, height: Int = 24) -> DashboardState {
        var state = DashboardState(
            width: width, height: height,
            demoActions: [
                DemoAction(key: "K", help: "kill primary, promote standby") {
                    MonitorCommandOutcome(succeeded: true, message: "done")
                }
            ], timeZone: .utc)
        if let snap { _ = state.update(.tick(snap)) }
        return state
    }
}

/// Compares a buffer, as text, with `Tests/Golden/Dashboard/<name>.txt`; `POOLTOP_UPDATE_GOLDEN=1` rewrites it.
/// (Outside the test target's folder: inside it SwiftPM warns about unhandled files, and the
/// target's `exclude:` lives in Package.swift.)
func goldenText(_ buffer: Buffer) -> String {
    buffer.lines.map { line in
        var l = line
        while l.hasSuffix(" ") { l.removeLast() }
        return l
    }.joined(separator: "\n") + "\n"
}

func goldenURL(_ name: String, file: String = #filePath) -> URL {
    URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Golden/Dashboard/\(name).txt")
}

func matchesGolden(_ name: String, _ buffer: Buffer) -> (Bool, String) {
    let text = goldenText(buffer)
    let url = goldenURL(name)
    if ProcessInfo.processInfo.environment["POOLTOP_UPDATE_GOLDEN"] == "1" {
        try? text.write(to: url, atomically: true, encoding: .utf8)
        return (true, text)
    }
    let expected = (try? String(contentsOf: url, encoding: .utf8)) ?? "<missing \(url.path)>"
    return (expected == text, "expected:\n\(expected)\nactual:\n\(text)")
}
