import CLibPQ
import Foundation
import Testing

@testable import ConnectionManager

/// Hand-run measurements, not timed tests: `POOLTOP_MEASURE=1 swift test -c release -Xswiftc -enable-testing
/// --filter PostgresMeasurements`. They print numbers and assert nothing about speed.
@Suite("PostgresMeasurements", .enabled(if: ProcessInfo.processInfo.environment["POOLTOP_MEASURE"] != nil))
struct PostgresMeasurements {
    @Test func selectOnePerOperation() throws {
        let url = try TestServer.sharedURL()
        let iterations = 50_000
        let connection = try PostgresConnection.connect(to: url, deadline: .seconds(5), applicationName: nil)
        // The same libpq connection (so the same backend) for both loops: only the client code differs.
        let raw = try connection.liveHandle()
        let clock = ContinuousClock()
        // Interleaved blocks, medians: the machine is shared, so single long runs mostly measure neighbours.
        var rawBlocks: [Duration] = []
        var wrappedBlocks: [Duration] = []
        var timedBlocks: [Duration] = []
        let block = 500
        for index in 0..<(iterations / block) {
            if index % 2 == 1 {
                wrappedBlocks.append(
                    try clock.measure { for _ in 0..<block { _ = try connection.execute("SELECT 1") } } / block)
            }
            rawBlocks.append(clock.measure { for _ in 0..<block { PQclear(PQexec(raw, "SELECT 1")) } } / block)
            if index % 2 == 0 {
                wrappedBlocks.append(
                    try clock.measure { for _ in 0..<block { _ = try connection.execute("SELECT 1") } } / block)
            }
            timedBlocks.append(
                try clock.measure {
                    for _ in 0..<block { _ = try connection.execute("SELECT 1", timeout: .seconds(1)) }
                } / block)
        }
        func median(_ values: [Duration]) -> Duration { values.sorted()[values.count / 2] }
        let rawMedian = median(rawBlocks)
        let wrappedMedian = median(wrappedBlocks)
        print(
            "SELECT 1 per op (median of \(rawBlocks.count) blocks of \(block)): raw PQexec \(rawMedian),"
                + " execute \(wrappedMedian), execute with timeout \(median(timedBlocks));"
                + " throughput ratio execute/raw \(rawMedian / wrappedMedian)")
    }

    @Test func connectDeadlineAccuracy() throws {
        try TestServer.withPausableServer { server in
            try server.pause()
            defer { try? server.resume() }
            let clock = ContinuousClock()
            for deadline in [Duration.milliseconds(50), .milliseconds(300), .milliseconds(300), .milliseconds(1000)] {
                let start = clock.now
                _ = try? PostgresConnection.connect(to: server.url, deadline: deadline, applicationName: nil)
                print("connect deadline \(deadline): failed after \(clock.now - start)")
            }
        }
    }
}

extension PostgresMeasurements {
    /// One kind of loop only, for `strace -c`: POOLTOP_MEASURE=raw|execute|timed.
    @Test func singleLoopForStrace() throws {
        let mode = ProcessInfo.processInfo.environment["POOLTOP_MEASURE"] ?? ""
        let url = try TestServer.sharedURL()
        let connection = try PostgresConnection.connect(to: url, deadline: .seconds(5), applicationName: nil)
        let raw = try #require(PQconnectdb(url.connectionString))
        defer { PQfinish(raw) }
        for _ in 0..<10_000 {
            switch mode {
            case "raw": PQclear(PQexec(raw, "SELECT 1"))
            case "execute": _ = try connection.execute("SELECT 1")
            case "timed": _ = try connection.execute("SELECT 1", timeout: .seconds(1))
            default: return
            }
        }
    }
}
