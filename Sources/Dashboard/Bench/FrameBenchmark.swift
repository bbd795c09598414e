import PoolModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Measures what one frame costs to render (state → `Buffer`), without a terminal.
public enum FrameBenchmark {
    /// Result of `measure`; times in microseconds per frame.
    public struct Result: Sendable, CustomStringConvertible {
        public var medianMicros: Double
        public var p95Micros: Double
        public var minMicros: Double
        public var iterations: Int
        public var width: Int
        public var height: Int

        public var description: String {
            "frame \(width)×\(height): median \(Self.f(medianMicros)) µs, p95 \(Self.f(p95Micros)) µs, "
                + "min \(Self.f(minMicros)) µs over \(iterations) frames"
        }

        static func f(_ v: Double) -> String { String(Int(v.rounded())) }
    }

    /// Renders `iterations` frames of a busy snapshot (pool saturated with overflow, 300-sample
    /// histories, 30 leaks, 5 targets, 50 events) and returns per-frame timings.
    public static func measure(width: Int = 200, height: Int = 60, iterations: Int = 500) -> Result {
        var state = DashboardState(width: width, height: height, timeZone: .utc)
        _ = state.update(.tick(busySnapshot()))
        let clock = ContinuousClock()
        var samples: [Double] = []
        samples.reserveCapacity(iterations)
        var buffer = Buffer(width: width, height: height)
        for i in 0..<(iterations + 10) {
            let elapsed = clock.measure {
                buffer = Buffer(width: width, height: height)
                DashboardView.render(state, into: &buffer)
            }
            // Move the selection so successive frames differ a little, like a live screen.
            _ = state.update(.keyPressed(i % 2 == 0 ? .down : .up))
            if i >= 10 {
                let (s, atto) = elapsed.components
                samples.append(Double(s) * 1e6 + Double(atto) / 1e12)
            }
        }
        precondition(buffer.width == width)
        samples.sort()
        return Result(
            medianMicros: samples[samples.count / 2], p95Micros: samples[samples.count * 95 / 100],
            minMicros: samples[0], iterations: iterations, width: width, height: height)
    }

    /// A worst-case snapshot: everything full.
    public static func busySnapshot(now: Date = Date(timeIntervalSince1970: 1_714_564_800)) -> ManagerSnapshot {
        let url = "postgresql://app:***@db1.internal:5432/orders"
        var health: [HealthCheckResult] = []
        for i in 0..<300 {
            let failed = i % 37 == 0
            let time: Double = 0.001 + Double(i % 13) * 0.0004
            health.append(
                HealthCheckResult(
                    healthy: !failed, responseTime: time, error: failed ? "connection refused" : nil,
                    checkedAt: now.addingTimeInterval(Double(i - 300)), target: url, isInRecovery: false))
        }
        var leaks: [LeakReport] = []
        for i in 0..<30 {
            let info = ConnectionInfo(
                connectionID: 100 + i, backendPID: Int32(5000 + i),
                checkedOutAt: now.addingTimeInterval(Double(i - 900)),
                threadName: "worker-\(i)", lastSQL: "SELECT * FROM orders WHERE id = $1 /* \(i) */", target: url)
            let server = ServerActivity(pid: Int32(5000 + i), state: "idle in transaction", query: "SELECT 1")
            leaks.append(
                LeakReport(
                    info: info, heldFor: Double(900 - i), detectedAt: now.addingTimeInterval(-600), server: server))
        }
        let targets = (0..<5).map { i in
            TargetStatus(
                index: i, url: "postgresql://app:***@db\(i + 1).internal:5432/orders",
                role: i == 0 ? .primary : .standby,
                healthy: i != 3, isCurrent: i == 0)
        }
        let kinds = PoolEvent.Kind.allCases
        let events = (0..<50).map { i in
            PoolEvent(
                at: now.addingTimeInterval(Double(i * 10 - 500)), kind: kinds[i % kinds.count],
                message: "Event number \(i): something happened to the pool that someone should know about.")
        }
        return ManagerSnapshot(
            takenAt: now, startedAt: now.addingTimeInterval(-86400 * 3),
            metrics: PoolMetrics(
                size: 20, maxOverflow: 10, checkedIn: 0, checkedOut: 30, overflow: 10, waiting: 17,
                totalCheckouts: 9_999_999,
                timeouts: 42, connectFailures: 3, leakedConnections: 30, utilization: 1.5, generation: 3),
            utilizationHistory: (0..<300).map { 0.8 + sin(Double($0) / 9) * 0.6 },
            lastHealthCheck: health.last, healthHistory: health,
            healthStats: HealthStats(
                totalChecks: 300, healthyChecks: 291, failedChecks: 9, successRate: 0.97,
                avgResponseTime: 0.003, p95ResponseTime: 0.006),
            leaks: leaks, totalLeaked: 30, activeConnections: 30, leakThreshold: 300,
            failover: FailoverStats(
                currentURL: url, isPrimary: true, failoverCount: 2, enabled: true, targets: targets,
                history: [
                    FailoverEvent(
                        from: targets[1].url, to: url, reason: .failback, at: now.addingTimeInterval(-3600),
                        duration: 0.4)
                ]),
            events: events)
    }
}
