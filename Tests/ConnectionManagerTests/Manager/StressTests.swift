import Foundation
import LocalCluster
import Testing

@testable import ConnectionManager

/// Many threads against a small pool on a real server: the books must balance and nothing may deadlock.
@Suite("Stress")
struct StressTests {
    @Test func sixtyFourThreadsOnAPoolOfEightPlusFour() throws {
        let server = try ServerView(try ManagerTests.sharedCluster().primary.url)
        let manager = try ManagerTests.manager("stress") {
            $0.poolSize = 8
            $0.maxOverflow = 4
            $0.poolTimeout = .seconds(60)
            $0.prePingAfterIdle = .milliseconds(1)
            $0.overflowIdleTimeout = .zero  // overflow closes on checkin: back to pool size when the load stops
        }
        defer { manager.shutdown() }
        let app = manager.configuration.effectiveApplicationName
        let threads = 64
        let opsPerThread = 25
        let succeeded = Locked(0)
        let failures = Locked<[String]>([])
        let group = DispatchGroup()
        for index in 0..<threads {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                nameThisThread("stress-\(index)")
                var generator = SystemRandomNumberGenerator()
                for op in 0..<opsPerThread {
                    do {
                        let hold = UInt32.random(in: 0...2_000, using: &generator)
                        switch op % 3 {
                        case 0:
                            let value = try manager.withConnection { connection in
                                usleep(hold)
                                return try connection.execute("SELECT $1::int + 1", [.int(op)])[row: 0].int(0)
                            }
                            if value != op + 1 { throw ExpectedFailure() }
                        case 1:
                            try manager.withSession { session in
                                try session.execute("SELECT pg_backend_pid()")
                                usleep(hold)
                                try session.execute("SELECT $1::text", [.text("thread \(index)")])
                            }
                        default:
                            let session = try manager.session()
                            defer { session.close() }
                            try session.execute("SELECT 1")
                            if hold.isMultiple(of: 2) { try session.commit() } else { try session.rollback() }
                        }
                        succeeded.update { $0 += 1 }
                    } catch {
                        failures.update { $0.append("thread \(index) op \(op): \(error)") }
                    }
                }
            }
            thread.stackSize = 512 * 1024
            thread.start()
        }
        let finished = group.wait(timeout: .now() + 180)
        #expect(finished == .success, "stress threads did not finish: deadlock?")
        let ops = succeeded.value
        #expect(failures.value.isEmpty, "\(failures.value.prefix(5))")
        #expect(ops == threads * opsPerThread)

        let m = manager.metrics()
        let open = m.connectionsCreated - m.connectionsClosed
        #expect(m.checkedOut == 0)
        #expect(m.checkedIn + m.checkedOut == open)
        #expect(m.totalCheckouts == ops)
        #expect(m.totalCheckins == ops)
        #expect(m.waiting == 0)
        #expect(m.timeouts == 0)
        #expect(open <= 8)
        #expect(m.connectionsCreated <= m.connectionsClosed + 12)
        #expect(try server.settledBackendCount(applicationName: app, expected: open) == open)
    }
}
