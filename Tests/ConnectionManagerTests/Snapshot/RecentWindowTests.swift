import Foundation
import Testing

@testable import ConnectionManager

@Suite("RecentWindow")
struct RecentWindowTests {
    let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    func sample(_ at: Double, failures: Int, timeouts: Int = 0, checks: Int = 0) -> RecentWindow.Sample {
        .init(
            at: t0.addingTimeInterval(at), connectFailures: failures, timeouts: timeouts, timeoutsWhileSuspended: 0,
            failedChecks: checks)
    }

    /// A hint driven by these counts clears when the trouble is over; a lifetime total never does.
    @Test func countsOnlyTheLastMinute() {
        var window = RecentWindow(length: 60)
        #expect(window.activity(current: sample(0, failures: 0)) == RecentActivity())
        for second in 0...30 { window.record(sample(Double(second), failures: second < 10 ? second * 5 : 45)) }
        let during = window.activity(current: sample(31, failures: 45, timeouts: 2))
        #expect(during.connectFailures == 45 && during.timeouts == 2 && during.window == 31)
        for second in 31...100 { window.record(sample(Double(second), failures: 45)) }
        let after = window.activity(current: sample(101, failures: 45))
        #expect(after.connectFailures == 0 && after.window == 60)
        #expect(window.samples.count <= 62)
    }

    @Test func countersThatGoBackDoNotCountNegative() {
        var window = RecentWindow(length: 60)
        window.record(sample(0, failures: 0, checks: 10))
        #expect(window.activity(current: sample(5, failures: 0, checks: 3)).failedChecks == 0)
    }
}
