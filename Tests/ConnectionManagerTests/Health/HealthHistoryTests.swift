import ConnectionManager
import Foundation
import Testing

@Suite("HealthHistory")
struct HealthHistoryTests {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    static func result(_ n: Int, healthy: Bool = true, time: Double = 0.001) -> HealthCheckResult {
        HealthCheckResult(
            healthy: healthy, responseTime: time, error: healthy ? nil : "down", checkedAt: t0 + Double(n),
            target: "postgresql://u:***@db/app")
    }

    @Test func emptyHistoryHasNeutralStats() {
        let history = HealthHistory()
        #expect(history.capacity == 300)
        #expect(history.results.isEmpty)
        #expect(history.latest == nil)
        #expect(history.stats == HealthStats())
        #expect(history.stats.successRate == 1)
    }

    @Test func ringWrapsAroundKeepingTheNewestOldestFirst() {
        var history = HealthHistory(capacity: 4)
        for n in 0..<10 { history.append(Self.result(n)) }
        #expect(history.count == 4)
        #expect(history.results.map(\.checkedAt) == (6..<10).map { Self.t0 + Double($0) })
        #expect(history.latest?.checkedAt == Self.t0 + 9)
        #expect(history.totalChecks == 10)
    }

    @Test func sequencesFollowTheResultsThroughTheRing() {
        var history = HealthHistory(capacity: 4)
        #expect(history.sequences.isEmpty)
        for n in 0..<3 { history.append(Self.result(n)) }
        #expect(history.sequences == [1, 2, 3], "by default: the history's own count")
        var numbered = HealthHistory(capacity: 4)
        for n in 0..<10 { numbered.append(Self.result(n), sequence: 100 + 3 * n) }
        #expect(numbered.sequences == [118, 121, 124, 127])
        #expect(numbered.results.map(\.checkedAt) == (6..<10).map { Self.t0 + Double($0) })
    }

    @Test(arguments: [1, 2, 3, 5, 7, 8, 9])
    func resultsAreOldestFirstAtEveryFillLevel(appended: Int) {
        var history = HealthHistory(capacity: 5)
        for n in 0..<appended { history.append(Self.result(n)) }
        let expected = (max(0, appended - 5)..<appended).map { Self.t0 + Double($0) }
        #expect(history.results.map(\.checkedAt) == expected)
        #expect(history.latest?.checkedAt == expected.last)
    }

    @Test func statsForAKnownSequence() {
        // Window of 4: the first two results (one failure, one 9 s outlier) fall out of the window
        // but still count in the totals.
        var history = HealthHistory(capacity: 4)
        history.append(Self.result(0, healthy: false))
        history.append(Self.result(1, time: 9))
        history.append(Self.result(2, time: 0.002))
        history.append(Self.result(3, healthy: false, time: 5))
        history.append(Self.result(4, time: 0.004))
        history.append(Self.result(5, time: 0.006))
        let stats = history.stats
        #expect(stats.totalChecks == 6)
        #expect(stats.healthyChecks == 4)
        #expect(stats.failedChecks == 2)
        #expect(stats.successRate == 4.0 / 6.0)
        // Healthy in window: 0.002, 0.004, 0.006 (the failed check's 5 s is excluded).
        #expect(abs(stats.avgResponseTime - 0.004) < 1e-12)
        #expect(stats.p95ResponseTime == 0.006)
        #expect(stats.currentStreak == 2)
        #expect(stats.streakHealthy)
    }

    @Test func streakFollowsTheLastRunOfEqualOutcomes() {
        var history = HealthHistory(capacity: 3)
        let outcomes = [true, true, false, false, false, false, true]
        var streaks: [Int] = []
        for (n, healthy) in outcomes.enumerated() {
            history.append(Self.result(n, healthy: healthy))
            streaks.append(history.stats.currentStreak)
        }
        // The streak is not limited by the window size (4 failures in a window of 3).
        #expect(streaks == [1, 2, 1, 2, 3, 4, 1])
        var failing = HealthHistory()
        failing.append(Self.result(0, healthy: false))
        #expect(failing.stats.streakHealthy == false)
        #expect(failing.stats.currentStreak == 1)
    }

    struct PercentileCase: Sendable, CustomTestStringConvertible {
        let values: [Double]
        let fraction: Double
        let expected: Double
        var testDescription: String { "p\(Int(fraction * 100)) of \(values.count) values = \(expected)" }
    }

    static let percentileCases: [PercentileCase] = [
        PercentileCase(values: [], fraction: 0.95, expected: 0),
        PercentileCase(values: [7], fraction: 0.95, expected: 7),
        PercentileCase(values: (1...20).map(Double.init), fraction: 0.95, expected: 19),
        PercentileCase(values: (1...100).map(Double.init), fraction: 0.95, expected: 95),
        PercentileCase(values: (1...10).map(Double.init), fraction: 0.95, expected: 10),
        PercentileCase(values: (1...10).map(Double.init), fraction: 0.5, expected: 5),
        PercentileCase(values: [1, 2, 3], fraction: 0, expected: 1),
        PercentileCase(values: [1, 2, 3], fraction: 1, expected: 3),
    ]

    @Test(arguments: percentileCases)
    func nearestRankPercentile(_ c: PercentileCase) {
        #expect(HealthHistory.percentile(c.fraction, ofSorted: c.values) == c.expected)
    }

    @Test func p95OverAFullWindowIgnoresTheOldestOutlier() {
        var history = HealthHistory(capacity: 100)
        history.append(Self.result(0, time: 1000))
        for n in 1...100 { history.append(Self.result(n, time: Double(n) / 1000)) }
        #expect(history.stats.p95ResponseTime == 0.095)
    }
}
