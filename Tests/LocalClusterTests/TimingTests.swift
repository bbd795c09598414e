import Foundation
import LocalCluster
import Testing

/// Start-up timings for the report; run with `POOLTOP_CLUSTER_TIMINGS=1 swift test --filter TimingTests`.
@Suite("Timings", .serialized, .enabled(if: ProcessInfo.processInfo.environment["POOLTOP_CLUSTER_TIMINGS"] != nil))
struct TimingTests {
    @Test("start and stop with and without a standby", arguments: [false, true, false, true])
    func startStop(withStandby: Bool) throws {
        let clock = ContinuousClock()
        var cluster: LocalCluster?
        let started = try clock.measure { cluster = try LocalCluster.start(.init(withStandby: withStandby)) }
        let promoted = try clock.measure { try cluster?.standby?.promote() }
        let stopped = clock.measure { cluster?.stop() }
        print("withStandby=\(withStandby) start \(started) promote \(promoted) stop \(stopped)")
        #expect(cluster != nil)
    }
}
