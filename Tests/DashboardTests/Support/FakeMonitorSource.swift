import ConnectionManager
import Foundation
import Synchronization

/// A throwaway `MonitorSource` with fake, changing data, for tests and the manual tmux smoke test.
/// Never shipped: it lives in the test target.
final class FakeMonitorSource: MonitorSource {
    private struct State {
        var tick = 0
        var performed: [MonitorCommand] = []
        var suspended = false
        var current = 0
    }

    // Mutex makes the class Sendable: snapshot() runs on the main queue, perform() on a background one.
    private let state = Mutex(State())
    private let start = Date()

    var performed: [MonitorCommand] { state.withLock { $0.performed } }

    func snapshot() -> ManagerSnapshot {
        let (tick, suspended, current) = state.withLock { s -> (Int, Bool, Int) in
            s.tick += 1
            return (s.tick, s.suspended, s.current)
        }
        var snap = Fixtures.overflow()
        snap.takenAt = Date()
        snap.startedAt = start
        let out = 4 + (tick * 3) % 12
        snap.metrics.checkedOut = out
        snap.metrics.overflow = max(0, out - 10)
        snap.metrics.checkedIn = max(0, 10 - out)
        snap.metrics.utilization = Double(out) / 10
        snap.metrics.isSuspended = suspended
        snap.utilizationHistory = (0..<(60 + tick)).map { Double(4 + ($0 * 3) % 12) / 10 }
        snap.failover.targets = Fixtures.targets(current: current)
        snap.failover.currentURL = current == 0 ? Fixtures.primaryURL : Fixtures.standbyURL
        snap.failover.isPrimary = current == 0
        return snap
    }

    func perform(_ command: MonitorCommand) -> MonitorCommandOutcome {
        state.withLock { s in
            s.performed.append(command)
            switch command {
            case .suspend: s.suspended = true
            case .resume: s.suspended = false
            case .failover(let t): s.current = t ?? (1 - s.current)
            default: break
            }
        }
        Thread.sleep(forTimeInterval: 0.2)
        return MonitorCommandOutcome(succeeded: true, message: "Done: \(command).")
    }

    func checkoutStack(connectionID: Int) -> [StackFrame] { Fixtures.stack() }
}
