import Foundation
import Testing

@testable import ConnectionManager

/// A manual measurement, not a timed test: runs only with `POOLTOP_PERF=1`, and prints ns per
/// checkout + checkin. Use a release build:
/// `POOLTOP_PERF=1 swift test -c release -Xswiftc -enable-testing --filter ConnectionPoolPerformance`
@Suite(
    "ConnectionPoolPerformance", .serialized, .enabled(if: ProcessInfo.processInfo.environment["POOLTOP_PERF"] != nil))
struct ConnectionPoolPerformanceTests {
    @Test(arguments: [(1, 8), (4, 8), (4, 4)])
    func checkoutCheckinLoop(threads: Int, poolSize: Int) throws {
        let pool = ConnectionPool(
            configuration: PoolConfiguration(poolSize: poolSize, maxOverflow: 0), factory: MemoryConnectionFactory())
        try pool.prefill()
        let iterations = 2_000_000 / threads
        let loop: @Sendable () -> Void = {
            for _ in 0..<iterations {
                guard let lease = try? pool.checkout() else { fatalError("checkout failed") }
                pool.checkin(lease)
            }
        }
        loop()  // warm up: thread contexts, caches
        let start = MonotonicClock.now
        let group = DispatchGroup()
        for _ in 0..<threads {
            group.enter()
            Thread {
                loop()
                group.leave()
            }.start()
        }
        group.wait()
        let elapsed = MonotonicClock.now - start
        let total = iterations * threads
        let nsPerOp = Double(elapsed) / Double(total)
        let m = pool.metrics()
        print(
            "pool perf: \(threads) thread(s), pool \(poolSize): \(String(format: "%.1f", nsPerOp)) ns per "
                + "checkout+checkin (\(String(format: "%.2f", 1e3 / nsPerOp)) M ops/s), "
                + "wait p99 \(m.waitTime.p99 * 1e6) µs, timeouts \(m.timeouts)")
        #expect(m.totalCheckouts == total * 2 - iterations * (threads - 1))
    }
}
