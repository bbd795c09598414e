import ConnectionManager
import Foundation
import Synchronization
import Testing

/// Counts calls per target; the checks are instant and always succeed unless told otherwise.
private final class CheckRecorder: Sendable {
    let calls = Mutex<[Int]>([])
    let reported = Mutex<[Int]>([])

    func check(_ target: HealthTarget) -> HealthCheckResult {
        calls.withLock { $0.append(target.index) }
        return HealthCheckResult(
            healthy: target.index != 2, responseTime: 0.001, error: target.index == 2 ? "refused" : nil,
            checkedAt: Date(), target: target.url, isInRecovery: target.index != 0)
    }

    func count(of index: Int? = nil) -> Int {
        calls.withLock { calls in index.map { i in calls.filter { $0 == i }.count } ?? calls.count }
    }
}

/// Polls `condition` every 5 ms until it holds or `deadline` passes; returns whether it held.
private func eventually(within deadline: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + deadline
    while clock.now < end {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.005)
    }
    return condition()
}

@Suite("HealthMonitor", .serialized)
struct HealthMonitorTests {
    static let targets = (0..<3).map { HealthTarget(index: $0, url: "postgresql://db\($0)/app") }

    private func makeMonitor(
        _ recorder: CheckRecorder, interval: Duration, otherTargetsEvery: Int = 0,
        probeSpacing: Duration = .milliseconds(1)
    ) -> HealthMonitor {
        HealthMonitor(
            targets: Self.targets, interval: interval, otherTargetsEvery: otherTargetsEvery,
            probeSpacing: probeSpacing, historyCapacity: 5,
            check: { recorder.check($0) },
            onResult: { target, _ in recorder.reported.withLock { $0.append(target.index) } })
    }

    @Test func timerChecksTheCurrentTargetRepeatedlyAndStopEndsIt() {
        let recorder = CheckRecorder()
        let monitor = makeMonitor(recorder, interval: .milliseconds(5))
        #expect(recorder.count() == 0)
        monitor.start()
        #expect(eventually { recorder.count(of: 0) >= 8 })
        monitor.stop()
        #expect(!monitor.isRunning)
        let afterStop = recorder.count()
        Thread.sleep(forTimeInterval: 0.1)  // 20 intervals: any leftover timer would have fired
        #expect(recorder.count() == afterStop)
        #expect(recorder.reported.withLock { $0.count } == afterStop)
        // Histories filled and wrapped at the capacity of 5.
        let history = monitor.history(of: 0)
        #expect(history.count == 5)
        #expect(history.totalChecks == recorder.count(of: 0))
        #expect(history.stats.healthyChecks == history.totalChecks)
        #expect(recorder.count(of: 1) == 0)  // otherTargetsEvery: 0 → never without a probe
    }

    @Test func checkNowTriggersPromptlyBetweenSlowTicks() {
        let recorder = CheckRecorder()
        let monitor = makeMonitor(recorder, interval: .seconds(3600), probeSpacing: .seconds(1))
        monitor.start()
        #expect(eventually { recorder.count() == 1 })  // the immediate first tick
        for _ in 0..<50 { monitor.checkNow() }  // a burst coalesces
        #expect(eventually { recorder.count() >= 2 })
        for _ in 0..<50 {
            monitor.checkNow()
            Thread.sleep(forTimeInterval: 0.001)
        }
        // The first batch ran at once; the rest of the burst waits for the spacing (1 s here) and runs once.
        #expect(recorder.count() == 2)
        #expect(eventually { recorder.count() == 3 })
        Thread.sleep(forTimeInterval: 0.05)
        #expect(recorder.count() == 3)
        monitor.stop()
    }

    @Test func probesAndTheSlowCadenceCheckTheOtherTargets() {
        let recorder = CheckRecorder()
        let monitor = makeMonitor(recorder, interval: .milliseconds(5), otherTargetsEvery: 4)
        monitor.start()
        #expect(eventually { recorder.count(of: 1) >= 3 && recorder.count(of: 2) >= 3 })
        monitor.stop()
        // The current target is checked every tick, the others every 4th.
        #expect(recorder.count(of: 0) >= 3 * recorder.count(of: 1) - 4)
        let unhealthy = monitor.history(of: 2).stats
        #expect(unhealthy.failedChecks == unhealthy.totalChecks)
        #expect(unhealthy.streakHealthy == false)

        let probed = CheckRecorder()
        let slow = makeMonitor(probed, interval: .seconds(3600))
        slow.start()
        #expect(eventually { probed.count() == 1 })
        slow.probe([1, 2, 99])
        #expect(eventually { probed.count(of: 1) == 1 && probed.count(of: 2) == 1 })
        slow.setCurrentTarget(2)
        slow.checkNow()
        #expect(eventually { probed.count(of: 2) == 2 })
        #expect(slow.histories().map(\.totalChecks) == [1, 1, 2])
        slow.stop()
    }

    @Test func stopWaitsForARunningCheckAndNothingRunsAfterIt() {
        let started = Mutex(0)
        let finished = Mutex(0)
        let monitor = HealthMonitor(
            targets: Self.targets, interval: .milliseconds(1), otherTargetsEvery: 0,
            check: { target in
                started.withLock { $0 += 1 }
                Thread.sleep(forTimeInterval: 0.05)
                finished.withLock { $0 += 1 }
                return HealthCheckResult(healthy: true, responseTime: 0.05, checkedAt: Date(), target: target.url)
            })
        monitor.start()
        #expect(eventually { started.withLock { $0 } >= 1 })
        monitor.stop()
        // stop() returned only after the running check finished.
        #expect(started.withLock { $0 } == finished.withLock { $0 })
        let calls = started.withLock { $0 }
        monitor.checkNow()  // ignored while stopped
        Thread.sleep(forTimeInterval: 0.1)
        #expect(started.withLock { $0 } == calls)
    }

    @Test func canBeRestartedAfterStop() {
        let recorder = CheckRecorder()
        let monitor = makeMonitor(recorder, interval: .milliseconds(5))
        monitor.start()
        monitor.start()  // idempotent
        #expect(eventually { recorder.count() >= 2 })
        monitor.stop()
        monitor.stop()
        let before = recorder.count()
        monitor.start()
        #expect(eventually { recorder.count() >= before + 2 })
        monitor.stop()
    }
}
