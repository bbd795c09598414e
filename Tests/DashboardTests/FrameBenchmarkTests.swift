import Foundation
import Testing

@testable import Dashboard

@Suite("Frame cost")
struct FrameBenchmarkTests {
    @Test func busySnapshotRendersEveryPanel() {
        var state = DashboardState(width: 200, height: 60, timeZone: .utc)
        _ = state.update(.tick(FrameBenchmark.busySnapshot()))
        let screen = DashboardView.render(state).lines.joined(separator: "\n")
        #expect(screen.contains("Leaks 30"))
        #expect(screen.contains("db5.internal"))
        #expect(screen.contains("Event number 49"))
    }

    /// `POOLTOP_BENCH=1 swift test -c release --filter FrameBenchmarkTests` prints the frame cost.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["POOLTOP_BENCH"] == "1"))
    func measure() {
        let result = FrameBenchmark.measure(width: 200, height: 60, iterations: 500)
        print("FrameBenchmark: \(result)")
        #expect(result.medianMicros > 0)
    }
}
