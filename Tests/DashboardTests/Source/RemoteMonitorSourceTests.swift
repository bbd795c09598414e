import ConnectionManager
import ControlTestServer
import Foundation
import Synchronization
import Testing

@testable import Dashboard

#if canImport(Glibc)
    import Glibc
#endif

/// The remote source against a real Unix socket (a tiny test server playing the service), with a fake clock:
/// connect, poll, stale when the service goes, back by itself, a restarted `auto` socket found again,
/// commands and stacks through the socket.
@Suite("Remote monitor source")
struct RemoteMonitorSourceTests {
    final class FakeClock: Sendable {
        let time = Mutex(Fixtures.t0)
        func advance(_ seconds: Double) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
        var now: @Sendable () -> Date { { self.time.withLock { $0 } } }
    }

    @Test func staleWhenTheServiceGoesAndBackWhenItReturns() throws {
        let path = ControlTestServer.temporaryPath("stale")
        var service = try FakeService(path: path, snapshot: Fixtures.overflow())
        let clock = FakeClock()
        let source = try RemoteMonitorSource.connect(socketPath: path, timeout: .milliseconds(500), now: clock.now)
        #expect(
            source.sourceDescription
                == .attached(
                    AttachedService(program: "orders-api", pid: 4242, poolName: "orders-api", socketPath: path)))
        #expect(source.sourceStatus() == .live)
        #expect(source.snapshot().metrics == Fixtures.overflow().metrics)
        // `snapshot()` queued a background poll; let it finish before the service goes, or on a loaded machine it
        // may still be answered after the clock moved and count as a good snapshot at +3 s (seen in CI).
        source.pollNow()

        service.server.stop()
        clock.advance(3)
        source.pollNow()
        #expect(
            source.sourceStatus()
                == .stale(since: Fixtures.t0, reason: "the socket is gone", checkedAt: Fixtures.at(3)))
        #expect(source.snapshot().metrics == Fixtures.overflow().metrics, "the last state stays")

        // Back, with other numbers: live again without anyone asking.
        var changed = Fixtures.normal()
        changed.metrics.checkedOut = 9
        service = try FakeService(path: path, snapshot: changed)
        defer { service.server.stop() }
        clock.advance(2)
        source.pollNow()
        #expect(source.sourceStatus() == .live)
        #expect(source.snapshot().metrics.checkedOut == 9)
        #expect(service.server.requests.map(\.target).first == "/v1/info", "who it is, first, after a failure")
    }

    @Test func aRestartedAutoSocketIsFoundAgain() throws {
        let directory = "/tmp/pt-refind-\(getpid())"
        mkdir(directory, 0o700)
        defer { rmdir(directory) }
        let old = try FakeService(path: "\(directory)/orders-api.100.sock", pid: 100, snapshot: Fixtures.normal())
        let source = try RemoteMonitorSource.connect(socketPath: old.path, timeout: .milliseconds(500))
        old.server.stop()
        let new = try FakeService(path: "\(directory)/orders-api.200.sock", pid: 200, snapshot: Fixtures.overflow())
        defer { new.server.stop() }
        let other = try FakeService(path: "\(directory)/billing.300.sock", pid: 300, snapshot: Fixtures.normal())
        defer { other.server.stop() }
        source.pollNow()
        guard case .attached(let service) = source.sourceDescription else {
            Issue.record("not attached")
            return
        }
        #expect(service.pid == 200 && service.socketPath == new.path)
        #expect(source.sourceStatus() == .live)
        #expect(source.snapshot().metrics == Fixtures.overflow().metrics)
        #expect(other.server.requests.isEmpty, "another pool's socket is never used")
    }

    @Test func aProtocolMismatchIsAClearReason() throws {
        let path = ControlTestServer.temporaryPath("mismatch")
        let service = try FakeService(path: path, snapshot: Fixtures.normal())
        defer { service.server.stop() }
        let source = try RemoteMonitorSource.connect(socketPath: path)
        service.update { $0.protocolVersion = 2 }
        source.pollNow()
        guard case .stale(_, let reason, _) = source.sourceStatus() else {
            Issue.record("not stale")
            return
        }
        #expect(reason == "it speaks control protocol version 2, pooltop 1")
        #expect(throws: ControlClientError.protocolVersion(path, theirs: 2)) {
            try RemoteMonitorSource.connect(socketPath: path)
        }
    }

    @Test func commandsAndStacksGoThroughTheSocket() throws {
        let path = ControlTestServer.temporaryPath("commands")
        let service = try FakeService(path: path, snapshot: Fixtures.overflow())
        defer { service.server.stop() }
        service.update {
            $0.stacks[17] = [StackFrame(index: 0, symbol: "ReportJob.run()", file: "/src/ReportJob.swift", line: 88)]
            $0.commandAnswer = (409, false, "Refused: db2 is a standby; promote it first.")
        }
        let source = try RemoteMonitorSource.connect(socketPath: path)
        #expect(
            source.perform(.failover(toTarget: 1))
                == MonitorCommandOutcome(succeeded: false, message: "Refused: db2 is a standby; promote it first."))
        service.update { $0.commandAnswer = (200, true, "Suspended checkouts.") }
        #expect(source.perform(.suspend) == MonitorCommandOutcome(succeeded: true, message: "Suspended checkouts."))
        #expect(service.commands == [#"{"command":"failover","target":1}"#, #"{"command":"suspend"}"#])
        #expect(service.server.requests.last?.target.hasPrefix("/v1/snapshot") == true, "polled after a command")
        #expect(source.checkoutStack(connectionID: 17).first?.file == "/src/ReportJob.swift")
        #expect(source.checkoutStack(connectionID: 5).isEmpty)
        service.server.stop()
        let outcome = source.perform(.resume)
        #expect(!outcome.succeeded && outcome.message.contains("no control socket at \(path)"), "\(outcome.message)")
    }

    @Test func snapshotNeverWaitsForTheNetwork() throws {
        let path = ControlTestServer.temporaryPath("slow")
        let fast = try FakeService(path: path, snapshot: Fixtures.normal())
        let source = try RemoteMonitorSource.connect(socketPath: path, timeout: .seconds(2))
        fast.server.stop()
        let slow = try ControlTestServer(path: path) { _ in
            usleep(1_000_000)
            return ControlTestServer.response(503, "{}")
        }
        defer { slow.stop() }
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<5 { _ = source.snapshot() }
        #expect(clock.now - start < .milliseconds(100))
        #expect(slow.requests.count <= 1, "one poll in flight at a time")
    }

    /// Through the socket, many polls of a service whose history grows, jumps past the window, changes target and
    /// restarts: the attached dashboard's health history and numbers are the service's after every poll, and
    /// most polls asked only for the newer checks.
    @Test func theHealthHistoryIsTheServicesAfterManyPolls() throws {
        let path = ControlTestServer.temporaryPath("health")
        var histories = [HealthHistory(capacity: 40), HealthHistory(capacity: 40)]
        var current = 0
        var sequence = 0
        var checks = 0
        var startedAt = Fixtures.at(-7425)
        func check(_ count: Int) {
            for _ in 0..<count {
                checks += 1
                sequence += 1
                histories[current].append(
                    HealthCheckResult(
                        healthy: checks % 9 != 0, responseTime: Double(checks % 50) / 1000,
                        checkedAt: Fixtures.at(Double(checks)), target: "t\(current)"),
                    sequence: sequence)
            }
        }
        func publish(_ service: FakeService) {
            var snap = Fixtures.normal()
            snap.startedAt = startedAt
            snap.healthHistory = histories[current].results
            snap.lastHealthCheck = histories[current].latest
            snap.healthStats = histories[current].stats
            snap.failover.currentURL = "postgresql://db\(current)/orders"
            let sequences = histories[current].sequences
            service.update {
                $0.snapshot = snap
                $0.healthSequences = sequences
            }
        }
        check(5)
        let service = try FakeService(path: path, snapshot: Fixtures.normal())
        defer { service.server.stop() }
        publish(service)
        let source = try RemoteMonitorSource.connect(socketPath: path, timeout: .seconds(5))
        for step in 1...150 {
            switch step % 50 {
            case 17: check(60)  // past the window between two polls
            case 29: current = 1 - current
            case 41:
                // A new process: its sequences start over (the pid stays: seen by the start time alone).
                histories = [HealthHistory(capacity: 40), HealthHistory(capacity: 40)]
                sequence = 0
                startedAt = Fixtures.at(Double(step))
                check(3)
            default: check(step % 3)
            }
            publish(service)
            source.pollNow()
            let shown = source.snapshot()
            #expect(shown.healthHistory == histories[current].results, "step \(step)")
            #expect(shown.healthStats == histories[current].stats, "step \(step)")
        }
        let deltas = service.server.requests.filter { $0.target.contains("health_after=") }.count
        #expect(deltas > 100, "\(deltas) polls asked for the newer checks only")
    }
}
