import ConnectionManager
import Foundation
import Testing

@Suite("HealthVerdict")
struct HealthVerdictTests {
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    func check(_ healthy: Bool, ago seconds: Double) -> HealthCheckResult {
        HealthCheckResult(
            healthy: healthy, responseTime: 0.001, error: healthy ? nil : "connection refused",
            checkedAt: now.addingTimeInterval(-seconds), target: "postgresql://db/app")
    }

    func judge(_ last: HealthCheckResult?, enabled: Bool = true) -> HealthVerdict {
        HealthVerdict.judge(
            last: last, checksEnabled: enabled, interval: .seconds(1), deadline: .seconds(2), now: now)
    }

    @Test func noHealthyBeforeTheFirstCheck() {
        #expect(judge(nil).state == .checking)
        #expect(judge(nil, enabled: false).state == .unknown)
    }

    @Test func aRecentResultIsTakenAsItIs() {
        #expect(judge(check(true, ago: 0.5)) == HealthVerdict(state: .healthy, since: now.addingTimeInterval(-0.5)))
        let failing = judge(check(false, ago: 0.5))
        #expect(failing.state == .failing && failing.detail == "connection refused")
    }

    /// A check stuck past its deadline (or a monitor that stopped) leaves a frozen timestamp: never "healthy".
    @Test func aFrozenTimestampIsStale() {
        // Allowed: 2 intervals + the deadline + 1 s = 5 s.
        #expect(judge(check(true, ago: 4.9)).state == .healthy)
        let stale = judge(check(true, ago: 12))
        #expect(stale.state == .stale)
        #expect(stale.detail?.contains("12 s old") == true, "\(stale.detail ?? "")")
        // Without periodic checks an old result is all there is: it is not called stale.
        #expect(judge(check(true, ago: 600), enabled: false).state == .healthy)
    }
}
