import Foundation
import LocalCluster
import Testing

@testable import ConnectionManager

/// `ConnectionManager`: metrics after a known sequence, the status JSON, and pool listeners.
@Suite("ConnectionManager")
struct ConnectionManagerTests {
    // MARK: Metrics

    @Test func metricsAfterAKnownSequence() throws {
        let manager = try ManagerTests.manager("metrics") {
            $0.poolSize = 2
            $0.maxOverflow = 1
            $0.overflowIdleTimeout = .zero  // close on checkin, as counted below
        }
        defer { manager.shutdown() }
        var m = manager.metrics()
        #expect(m.size == 2)
        #expect(m.maxOverflow == 1)
        #expect(m.totalCheckouts == 0)
        #expect(m.utilization == 0)

        for _ in 0..<3 { try manager.withConnection { _ = try $0.execute("SELECT 1") } }
        m = manager.metrics()
        #expect(m.totalCheckouts == 3)
        #expect(m.totalCheckins == 3)
        #expect(m.connectionsCreated == 1)
        #expect(m.connectionsClosed == 0)
        #expect(m.checkedIn == 1)

        let held = try (0..<3).map { _ in try manager.checkOut() }
        m = manager.metrics()
        #expect(m.checkedOut == 3)
        #expect(m.checkedIn == 0)
        #expect(m.overflow == 1)
        #expect(m.connectionsCreated == 3)
        #expect(m.utilization == 1.5)  // checked_out / pool_size
        #expect(m.totalCheckouts == 6)
        // Hold times are sampled: every checkout through the machine (the first one here), and a thread's
        // lock-free checkouts at most once per coarse clock tick (which read the precise clock).
        #expect(m.holdTime.count >= 1 && m.holdTime.count <= 3)

        held[0].close()
        m = manager.metrics()
        #expect(m.utilization == 1.0)
        #expect(m.connectionsClosed == 1)  // above pool size: closed on return
        #expect(m.overflow == 0)
        for connection in held.dropFirst() { connection.close() }
        m = manager.metrics()
        #expect(m.totalCheckouts == 6)
        #expect(m.totalCheckins == 6)
        #expect(m.checkedOut == 0)
        #expect(m.checkedIn == 2)
        #expect(m.connectionsCreated == 3)
        #expect(m.connectionsClosed == 1)
        #expect(m.utilization == 0)
        #expect(m.timeouts == 0)
        #expect(m.connectFailures == 0)
        #expect(m.checkedIn + m.checkedOut == m.connectionsCreated - m.connectionsClosed)
    }

    // MARK: JSON

    static func object(_ json: Any?, _ key: String) -> [String: Any]? {
        (json as? [String: Any])?[key] as? [String: Any]
    }

    @Test func poolMetricsJSONHasTheSeedsKeys() throws {
        let manager = try ManagerTests.manager("metricsjson") { $0.poolSize = 2 }
        defer { manager.shutdown() }
        try manager.withConnection { _ in }
        let data = try JSONEncoder().encode(manager.metrics())
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in [
            "size", "checked_in", "checked_out", "overflow", "total_checkouts", "leaked_connections",
            "utilization",
        ] {
            #expect(json[key] != nil, "pool metrics lack \(key)")
        }
        #expect(json["size"] as? Int == 2)
        #expect(json["checked_in"] as? Int == 1)
        #expect(json["total_checkouts"] as? Int == 1)
        #expect(json.keys.allSatisfy { $0 == $0.lowercased() }, "keys are not snake_case: \(json.keys.sorted())")
        #expect(try JSONDecoder().decode(PoolMetrics.self, from: data) == manager.metrics())
    }

    @Test func healthStatusJSONHasTheSeedsKeysAndNoPassword() throws {
        let cluster = try ManagerTests.sharedCluster()
        // `postgres` is trusted, so the password is never checked; it must still never be shown.
        let password = "Sup3r-Secret-Pw"
        let url = cluster.primary.url(user: "postgres", password: password)
        let manager = try ManagerTests.manager("statusjson", url: url) {
            $0.poolSize = 2
            $0.failoverURLs = [try! DatabaseURL("postgresql://postgres:\(password)@127.0.0.1:1/postgres")]
        }
        defer { manager.shutdown() }
        try manager.withConnection { _ in }
        let held = try manager.checkOut()
        defer { held.close() }
        let check = manager.checkHealthNow()
        #expect(check.healthy)

        let status = manager.healthStatus()
        #expect(status.healthy)
        let data = try status.jsonData()
        let text = String(decoding: data, as: UTF8.self)
        #expect(!text.contains(password), "the status JSON shows the password")
        #expect(!status.summary.contains(password))
        let json = try JSONSerialization.jsonObject(with: data)
        #expect((json as? [String: Any])?["healthy"] as? Bool == true)
        let sections: [(String, [String])] = [
            (
                "pool_metrics",
                [
                    "size", "checked_in", "checked_out", "overflow", "total_checkouts",
                    "leaked_connections", "utilization",
                ]
            ),
            ("health_check", ["healthy", "response_time", "error", "checked_at"]),
            (
                "health_stats",
                [
                    "total_checks", "healthy_checks", "failed_checks", "success_rate",
                    "avg_response_time",
                ]
            ),
            ("failover_stats", ["current_url", "is_primary", "failover_count"]),
            ("leak_detection", ["active_connections", "total_leaked", "leaks"]),
        ]
        for (section, keys) in sections {
            let object = try #require(Self.object(json, section), "no \(section) in \(text)")
            for key in keys {
                #expect(object.keys.contains(key), "\(section) lacks \(key)")
            }
        }
        #expect(Self.object(json, "pool_metrics")?["checked_out"] as? Int == 1)
        #expect(Self.object(json, "pool_metrics")?["size"] as? Int == 2)
        #expect(Self.object(json, "health_check")?["error"] is NSNull)
        #expect(Self.object(json, "health_stats")?["total_checks"] as? Int == 1)
        #expect(Self.object(json, "health_stats")?["healthy_checks"] as? Int == 1)
        let currentURL = try #require(Self.object(json, "failover_stats")?["current_url"] as? String)
        #expect(currentURL.contains("***"))
        #expect(Self.object(json, "failover_stats")?["is_primary"] as? Bool == true)
        #expect(Self.object(json, "failover_stats")?["failover_count"] as? Int == 0)
        #expect(Self.object(json, "leak_detection")?["active_connections"] as? Int == 1)
        #expect(Self.object(json, "leak_detection")?["leaks"] as? [Any] != nil)
    }

    @Test func failedHealthCheckIsInTheStatusWithoutThePassword() throws {
        let port = try TestServer.closedPort()
        let password = "An0ther-Secret"
        let manager = try ManagerTests.manager(
            "statusdown", url: "postgresql://postgres:\(password)@127.0.0.1:\(port)/postgres")
        defer { manager.shutdown() }
        #expect(throws: PoolError.self) { try manager.withConnection { _ in } }
        let check = manager.checkHealthNow()
        #expect(!check.healthy)
        let status = manager.healthStatus()
        #expect(!status.healthy)
        let text = String(decoding: try status.jsonData(), as: UTF8.self)
        #expect(!text.contains(password))
        let json = try JSONSerialization.jsonObject(with: try status.jsonData())
        #expect(Self.object(json, "health_check")?["error"] as? String != nil)
        // The failed checkout may have asked for a probe of its own: every check recorded failed.
        let stats = try #require(Self.object(json, "health_stats"))
        #expect((stats["failed_checks"] as? Int ?? 0) >= 1)
        #expect(stats["failed_checks"] as? Int == stats["total_checks"] as? Int)
        #expect(manager.snapshot().events.allSatisfy { !$0.message.contains(password) })
    }

    // MARK: Listeners

    @Test func listenersAreCalledAndCanBeRemoved() throws {
        let manager = try ManagerTests.manager("listeners") { $0.poolSize = 2 }
        defer { manager.shutdown() }
        let counter = CallCounter()
        let token = manager.addListener(
            .init(
                onConnect: { _ in counter.hit("connect") }, onPoolConnect: { _ in counter.hit("poolConnect") },
                onCheckout: { _ in counter.hit("checkout") }, onCheckin: { _ in counter.hit("checkin") }))
        let held = try (0..<2).map { _ in try manager.checkOut() }
        for connection in held { connection.close() }
        try manager.withConnection { _ in }
        #expect(counter["connect"] == 2)
        #expect(counter["poolConnect"] == 1)
        #expect(counter["checkout"] == 3)
        #expect(counter["checkin"] == 3)

        manager.removeListener(token)
        try manager.withConnection { _ in }
        manager.evictIdle()
        try manager.withConnection { _ in }  // opens a new connection
        #expect(counter["connect"] == 2)
        #expect(counter["checkout"] == 3)
        #expect(counter["checkin"] == 3)
        #expect(manager.metrics().totalCheckouts == 5)
    }

    @Test func listenerThatReadsMetricsDoesNotDeadlock() throws {
        let manager = try ManagerTests.manager("listenerlock") {
            $0.poolSize = 1
            $0.maxOverflow = 1
        }
        defer { manager.shutdown() }
        let seen = Locked<[String]>([])
        manager.addListener(
            .init(
                onConnect: { [weak manager] _ in
                    if let m = manager?.metrics() { seen.update { $0.append("connect \(m.connecting)") } }
                },
                onCheckout: { [weak manager] _ in
                    if let m = manager?.metrics() { seen.update { $0.append("checkout \(m.checkedOut)") } }
                    _ = manager?.snapshot()
                },
                onCheckin: { [weak manager] _ in
                    if let m = manager?.metrics() { seen.update { $0.append("checkin \(m.checkedOut)") } }
                    _ = manager?.healthStatus()
                }))
        let finished = ManagerTests.onThread(timeout: .seconds(30)) { () -> Bool in
            do {
                let a = try manager.checkOut()
                let b = try manager.checkOut()
                a.close()
                b.close()
                try manager.withConnection { _ in }
                return true
            } catch {
                return false
            }
        }
        #expect(finished == true, "a listener calling back into the manager deadlocked or failed")
        let events = seen.value
        #expect(events.filter { $0.hasPrefix("connect") }.count == 2)
        #expect(events.filter { $0.hasPrefix("checkout") }.count == 3)
        #expect(events.filter { $0.hasPrefix("checkin") }.count == 3)
        #expect(events.contains("checkout 2"))
    }
}
