import Foundation
import Testing

@testable import ConnectionManager

// The manager's decisions with a fake clock and fake check results: no PostgreSQL, no threads.

private typealias Action = ManagerStateMachine.Action
private typealias Event = ManagerStateMachine.Event

private let urls = ["postgresql://app:***@db0/app", "postgresql://app:***@db1/app", "postgresql://app:***@db2/app"]
private let t0 = Date(timeIntervalSince1970: 1_700_000_000)
private func at(_ seconds: Double) -> Date { t0 + seconds }

private func machine(
    monitor: Bool = true, retryAttempts: Int = 2, allowReadOnly: Bool = false, automatic: Bool = true,
    targets: [String] = urls
) -> ManagerStateMachine {
    ManagerStateMachine(
        configuration: .init(
            targetURLs: targets,
            failover: .init(
                retryAttempts: retryAttempts, retryDelay: .seconds(1), allowReadOnlyTargets: allowReadOnly,
                isAutomaticFailoverEnabled: automatic),
            startedAt: t0, hasHealthMonitor: monitor))
}

private func primary(_ target: Int, at seconds: Double) -> HealthCheckResult {
    HealthCheckResult(
        healthy: true, responseTime: 0.002, checkedAt: at(seconds), target: urls[target], isInRecovery: false)
}

private func standby(_ target: Int, at seconds: Double) -> HealthCheckResult {
    HealthCheckResult(
        healthy: true, responseTime: 0.002, checkedAt: at(seconds), target: urls[target], isInRecovery: true)
}

private func down(_ target: Int, at seconds: Double) -> HealthCheckResult {
    HealthCheckResult(
        healthy: false, responseTime: 0.001, error: "connection refused", checkedAt: at(seconds), target: urls[target])
}

private func emitted(_ kind: PoolEvent.Kind, _ message: String, at seconds: Double? = nil) -> Action {
    .emit(Event(kind: kind, message: message, at: seconds.map(at)), ManagerStateMachine.level(of: kind))
}

private func switched(to target: Int, from: Int = 0, _ reason: String) -> Action {
    .switchTarget(
        to: target,
        event: Event(kind: .failover, message: "Failed over from \(urls[from]) to \(urls[target]) (\(reason))."))
}

/// Target 0 is healthy, then fails its check and both re-checks; returns the last step's actions (the search).
private func exhaustRetries(_ m: inout ManagerStateMachine, via route: ManagerStateMachine.ProbeRoute = .monitor)
    -> [Action]
{
    _ = m.healthChecked(target: 0, result: primary(0, at: 0.5))
    _ = m.healthChecked(target: 0, result: down(0, at: 1))
    #expect(m.retryDelayElapsed(at: at(2)) == [.probe([0], via: route)])
    #expect(m.healthChecked(target: 0, result: down(0, at: 2)) == [.scheduleRetry(after: .seconds(1))])
    #expect(m.retryDelayElapsed(at: at(3)) == [.probe([0], via: route)])
    return m.healthChecked(target: 0, result: down(0, at: 3))
}

@Suite("ManagerStateMachine: health news")
struct ManagerHealthNewsTests {
    @Test func aFailureAndARecoveryOfTheCurrentTargetAreEachSaidOnce() {
        var m = machine()
        // The first check is no news, healthy or not; nor is a second healthy one.
        #expect(m.healthChecked(target: 0, result: primary(0, at: 1)) == [])
        #expect(m.healthChecked(target: 0, result: primary(0, at: 2)) == [])
        #expect(
            m.healthChecked(target: 0, result: down(0, at: 3)) == [
                emitted(.healthCheckFailed, "Health check of \(urls[0]) failed: connection refused.", at: 3),
                .scheduleRetry(after: .seconds(1)),
            ])
        #expect(m.isCurrentTargetFailing)
        // A periodic check between re-checks: neither news nor a retry.
        #expect(m.healthChecked(target: 0, result: down(0, at: 3.5)) == [])
        #expect(m.retryDelayElapsed(at: at(4)) == [.probe([0], via: .monitor)])
        #expect(
            m.healthChecked(target: 0, result: primary(0, at: 4)) == [
                emitted(.healthRecovered, "\(urls[0]) answers again (2.0 ms).", at: 4)
            ])
        #expect(!m.isCurrentTargetFailing)
        #expect(m.healthChecked(target: 0, result: primary(0, at: 5)) == [])
        #expect(m.histories[0].totalChecks == 6)
    }

    @Test func noRecoveryIsDueForAChecksFirstAnswerOrOneFinishedAsTheManagerStarted() {
        var m = machine()
        #expect(m.healthChecked(target: 0, result: down(0, at: -1)).first?.isEmit(.healthCheckFailed) == true)
        // Within 1 ms of the start: the manager has not seen this target answer yet, so nothing "recovered".
        #expect(m.healthChecked(target: 0, result: primary(0, at: 0.0005)) == [])
        var fresh = machine()
        // Healthy from its very first check: no recovery either.
        #expect(fresh.healthChecked(target: 0, result: primary(0, at: 5)) == [])
    }

    @Test func checksOfOtherTargetsAreNoNewsAboutTheCurrentOne() {
        var m = machine()
        #expect(m.healthChecked(target: 1, result: down(1, at: 1)) == [])
        #expect(m.healthChecked(target: 2, result: standby(2, at: 1)) == [])
        #expect(!m.isCurrentTargetFailing)
        #expect(m.histories.map(\.totalChecks) == [0, 1, 1])
        #expect(m.healthChecked(target: 7, result: down(1, at: 1)) == [])
    }

    @Test func answersToTheShellsOwnProbesAreRecordedButAreNoNews() {
        var m = machine(monitor: false)
        #expect(
            m.probeAnswered(target: 0, result: down(0, at: 1), via: .controlQueue) == [
                .scheduleRetry(after: .seconds(1))
            ])
        #expect(m.histories[0].totalChecks == 1)
        #expect(!m.isCurrentTargetFailing)
    }
}

@Suite("ManagerStateMachine: probes")
struct ManagerProbeTests {
    @Test func aLostConnectionAsksTheMonitorForOneCheckOfTheCurrentTarget() {
        var m = machine()
        #expect(m.statementFailed(.connectionLost, at: at(1)) == [.probe([0], via: .monitor)])
        // Already re-checking: the monitor is still asked (coalesced), the failover machine adds nothing.
        _ = m.healthChecked(target: 0, result: down(0, at: 2))
        #expect(m.statementFailed(.connectionLost, at: at(2.5)) == [.probe([0], via: .monitor)])
    }

    @Test func withoutAMonitorProbesRunOnTheControlQueue() {
        var m = machine(monitor: false)
        #expect(m.statementFailed(.connectionLost, at: at(1)) == [.probe([0], via: .controlQueue)])
        #expect(exhaustRetries(&m, via: .controlQueue) == [.probe([1, 2], via: .controlQueue)])
        // The answers take the route they were asked on.
        #expect(
            m.probeAnswered(target: 1, result: primary(1, at: 3.1), via: .controlQueue) == [
                switched(to: 1, "automatic")
            ])
    }

    @Test func theRetriesAreScheduledThenTheOthersProbed() {
        var m = machine()
        #expect(exhaustRetries(&m) == [.probe([1, 2], via: .monitor)])
        // A stale timer asks for nothing.
        #expect(m.retryDelayElapsed(at: at(4)) == [])
    }

    @Test func aDemotionEvictsAndRechecksEveryTargetOnce() {
        var m = machine()
        #expect(
            m.statementFailed(.readOnly, at: at(1)) == [
                .evictConnections,
                emitted(.info, "\(urls[0]) is read-only now; its connections are being replaced."),
                .probe([0, 1, 2], via: .monitor),
            ])
        // Many pooled connections hit 25006 at once: one search is enough.
        #expect(m.statementFailed(.readOnly, at: at(1.1)) == [])
        #expect(m.healthChecked(target: 0, result: standby(0, at: 1.2)) == [])
        #expect(m.healthChecked(target: 1, result: primary(1, at: 1.2)) == [switched(to: 1, "automatic")])
    }

    @Test func statementErrorsThatSayNothingAboutTheServerAreNoFact() {
        #expect(ManagerStateMachine.StatementFailure(.connectionLost(message: "EOF")) == .connectionLost)
        #expect(ManagerStateMachine.StatementFailure(.connectionClosed) == .connectionLost)
        #expect(ManagerStateMachine.StatementFailure(.columnNotFound("x")) == nil)
    }
}

@Suite("ManagerStateMachine: automatic switch")
struct ManagerAutomaticSwitchTests {
    @Test func theFirstPrimaryIsTakenInOneStep() {
        var m = machine()
        #expect(exhaustRetries(&m) == [.probe([1, 2], via: .monitor)])
        #expect(m.healthChecked(target: 1, result: primary(1, at: 3.1)) == [switched(to: 1, "automatic")])
        #expect(m.current == 1)
        #expect(m.failover.stats.failoverCount == 1)
        m.switchApplied(at: at(3.15))
        #expect(abs(m.failover.stats.history[0].duration - 0.05) < 1e-6)
        // The new target's next check sets the health state afresh (its earlier probe is not "answers again").
        #expect(m.healthChecked(target: 1, result: primary(1, at: 4)) == [])
    }

    /// Regression: with failover URLs and DB_FAILOVER_ENABLED=false, the failover machine used to switch its target,
    /// count and record a failover before the shell refused it. The refusal is decided before anything changes.
    @Test func disabledAutomaticFailoverStaysAndChangesNothing() {
        var m = machine(automatic: false)
        let message =
            "Automatic failover is off (DB_FAILOVER_ENABLED=false): staying on \(urls[0]) and re-checking it; "
            + "fail over by hand if another target should take over."
        #expect(exhaustRetries(&m) == [emitted(.failoverRefused, message), .scheduleRetry(after: .seconds(1))])
        #expect(m.healthChecked(target: 1, result: primary(1, at: 3.5)) == [])
        #expect(m.retryDelayElapsed(at: at(4)) == [.probe([0], via: .monitor)])
        #expect(m.healthChecked(target: 0, result: down(0, at: 4)) == [.scheduleRetry(after: .seconds(1))])
        #expect(m.current == 0)
        #expect(m.failover.stats.failoverCount == 0)
        #expect(m.failover.stats.history.isEmpty)
        // A person may still switch.
        let (ticket, actions) = m.manualFailoverRequested(to: 1, at: at(5))
        #expect(actions == [.probe([1], via: .callingThread)])
        #expect(
            m.probeAnswered(target: 1, result: primary(1, at: 5.1), via: .callingThread) == [switched(to: 1, "manual")])
        #expect(m.manualFailoverFinished(ticket: ticket).first?.reply?.succeeded == true)
    }

    @Test func noOtherTargetAnsweringAsPrimaryStaysPutAndKeepsSearching() throws {
        var m = machine()
        _ = exhaustRetries(&m)
        #expect(m.healthChecked(target: 1, result: standby(1, at: 3.1)) == [])
        let actions = m.healthChecked(target: 2, result: down(2, at: 3.1))
        #expect(actions.count == 2)
        let refusal = try #require(actions.first?.emittedEvent)
        #expect(refusal.kind == .failoverRefused)
        #expect(refusal.message.hasPrefix("No reachable primary among 3 targets"))
        #expect(actions.last == .scheduleRetry(after: .milliseconds(250)))
        #expect(m.current == 0)
        #expect(m.retryDelayElapsed(at: at(3.35)) == [.probe([0, 1, 2], via: .monitor)])
    }

    @Test(arguments: [false, true])
    func aStandbyIsTakenOnlyWhenReadOnlyTargetsAreAllowed(allowReadOnly: Bool) {
        var m = machine(allowReadOnly: allowReadOnly)
        _ = exhaustRetries(&m)
        #expect(m.healthChecked(target: 1, result: standby(1, at: 3.1)) == [])
        let actions = m.healthChecked(target: 2, result: down(2, at: 3.1))
        #expect(actions.contains(switched(to: 1, "automatic")) == allowReadOnly)
        #expect(m.current == (allowReadOnly ? 1 : 0))
    }

    @Test func anotherPrimaryWhileTheCurrentIsDownSwitchesWithoutWaitingOutTheRetries() {
        var m = machine(retryAttempts: 5)
        _ = m.healthChecked(target: 0, result: primary(0, at: 0.5))
        #expect(m.healthChecked(target: 0, result: down(0, at: 1)).last == .scheduleRetry(after: .seconds(1)))
        // The monitor's slow cadence checks target 1 meanwhile: it is a primary (promoted by someone else).
        #expect(m.healthChecked(target: 1, result: primary(1, at: 1.2)) == [switched(to: 1, "automatic")])
        #expect(m.retryDelayElapsed(at: at(2)) == [])  // The retry timer is stale now.
    }

    @Test func aPrimaryLaterInTheListWaitsForTheTargetsBeforeIt() {
        var m = machine(retryAttempts: 5)
        _ = m.healthChecked(target: 0, result: primary(0, at: 0.5))
        _ = m.healthChecked(target: 0, result: down(0, at: 1))
        #expect(m.healthChecked(target: 2, result: primary(2, at: 1.2)) == [.probe([1], via: .monitor)])
        #expect(m.healthChecked(target: 1, result: standby(1, at: 1.3)) == [switched(to: 2, "automatic")])
    }

    @Test func aCurrentTargetThatIsMerelySlowIsNotLeftEarly() {
        var m = machine(retryAttempts: 5)
        // Never failed: a primary elsewhere is no reason to move.
        #expect(m.healthChecked(target: 1, result: primary(1, at: 1)) == [])
        // Reachable with no role reported while re-checking: not down, so the retries run their course.
        _ = m.healthChecked(target: 0, result: down(0, at: 2))
        #expect(m.retryDelayElapsed(at: at(3)) == [.probe([0], via: .monitor)])
        let unknownRole = HealthCheckResult(healthy: true, responseTime: 0.002, checkedAt: at(3), target: urls[0])
        #expect(
            m.healthChecked(target: 0, result: unknownRole) == [
                emitted(.healthRecovered, "\(urls[0]) answers again (2.0 ms).", at: 3)
            ])
        #expect(m.healthChecked(target: 1, result: primary(1, at: 3.2)) == [])
        #expect(m.current == 0)
    }
}

@Suite("ManagerStateMachine: manual failover")
struct ManagerManualFailoverTests {
    @Test func acceptedWithTheSwitchsSentence() {
        var m = machine()
        let (ticket, actions) = m.manualFailoverRequested(to: 1, at: at(1))
        #expect(actions == [.probe([1], via: .callingThread)])
        #expect(
            m.probeAnswered(target: 1, result: primary(1, at: 1.1), via: .callingThread) == [switched(to: 1, "manual")])
        #expect(
            m.manualFailoverFinished(ticket: ticket) == [
                .reply(
                    MonitorCommandOutcome(
                        succeeded: true, message: "Failed over from \(urls[0]) to \(urls[1]) (manual)."))
            ])
    }

    @Test func refusedAtOnceWithTheReason() {
        var m = machine()
        let reason = "There is no target 5; the targets are numbered 0 to 2."
        #expect(
            m.manualFailoverRequested(to: 5, at: at(1)).actions == [
                emitted(.failoverRefused, reason), .reply(MonitorCommandOutcome(succeeded: false, message: reason)),
            ])
        #expect(m.current == 0)
    }

    @Test func refusedAfterItsProbeWithTheReason() {
        var m = machine()
        let (ticket, _) = m.manualFailoverRequested(to: 1, at: at(1))
        let reason = "Target 1 (\(urls[1])) is down: connection refused."
        #expect(
            m.probeAnswered(target: 1, result: down(1, at: 1.1), via: .callingThread) == [
                emitted(.failoverRefused, reason)
            ])
        #expect(
            m.manualFailoverFinished(ticket: ticket) == [
                .reply(MonitorCommandOutcome(succeeded: false, message: reason))
            ])
        #expect(m.failover.stats.failoverCount == 0)
    }

    @Test func settledByTheMonitorsCheckIsStillTheCallersAnswer() {
        var m = machine()
        let (ticket, _) = m.manualFailoverRequested(to: 1, at: at(1))
        // The monitor's check started after the request and answers first.
        #expect(m.healthChecked(target: 1, result: primary(1, at: 1.05)) == [switched(to: 1, "manual")])
        #expect(m.probeAnswered(target: 1, result: primary(1, at: 1.1), via: .callingThread) == [])
        #expect(m.manualFailoverFinished(ticket: ticket).first?.reply?.succeeded == true)
        #expect(m.manualFailoverFinished(ticket: ticket).first?.reply?.succeeded == false)  // collected once
    }

    /// Regression: a second person's request while one is pending was refused, and the refusal also dropped the
    /// first request, whose probe answer then settled nothing ("did not settle" for a healthy target).
    @Test func anotherPersonsRequestNeitherEndsNorAnswersMine() {
        var m = machine()
        let (mine, _) = m.manualFailoverRequested(to: 1, at: at(1))
        let theirs = m.manualFailoverRequested(to: 2, at: at(1.01))
        let busy = "A manual failover is already in progress; try again when it finishes."
        #expect(theirs.actions.last == .reply(MonitorCommandOutcome(succeeded: false, message: busy)))
        #expect(
            m.probeAnswered(target: 1, result: primary(1, at: 1.1), via: .callingThread) == [switched(to: 1, "manual")])
        #expect(m.manualFailoverFinished(ticket: mine).first?.reply?.succeeded == true)
    }

    @Test func aRequestWhoseAnswersNeverCameDidNotSettle() {
        var m = machine()
        let (ticket, _) = m.manualFailoverRequested(to: nil, at: at(1))
        #expect(m.probeAnswered(target: 1, result: down(1, at: 1.1), via: .callingThread) == [])
        #expect(
            m.manualFailoverFinished(ticket: ticket) == [
                .reply(
                    MonitorCommandOutcome(succeeded: false, message: "The failover did not settle; see the event log."))
            ])
    }
}

@Suite("ManagerStateMachine: leaks")
struct ManagerLeakTests {
    private let held = ConnectionInfo(
        connectionID: 3, backendPID: 4242, checkedOutAt: at(0), threadName: "worker", target: urls[0])

    @Test func aLeakIsReportedOnceWithItsStackThenItsReturn() {
        var m = machine()
        #expect(
            m.scanTicked(checkedOut: [held], stillCheckedOut: [3], threshold: .seconds(10), now: at(5)) == [
                .fetchActivity(leakedPIDs: [], readsOverview: true)
            ])
        let message =
            "Connection 3 (backend 4242, thread worker) has been held for 11 s, over the 10 s leak threshold."
        #expect(
            m.scanTicked(checkedOut: [held], stillCheckedOut: [3], threshold: .seconds(10), now: at(11)) == [
                .emit(
                    Event(kind: .leakDetected, message: message, at: at(11), isLogged: false), .warning),
                .logLeakStack(message: message, stack: nil),
                .fetchActivity(leakedPIDs: [4242], readsOverview: true),
            ])
        #expect(
            m.scanTicked(checkedOut: [held], stillCheckedOut: [3], threshold: .seconds(10), now: at(12)) == [
                .fetchActivity(leakedPIDs: [4242], readsOverview: true)
            ])
        #expect(
            m.scanTicked(checkedOut: [], stillCheckedOut: [], threshold: .seconds(10), now: at(20)) == [
                emitted(.leakReturned, "Leaked connection 3 came back after 20 s.", at: 20),
                .fetchActivity(leakedPIDs: [], readsOverview: true),
            ])
        var quiet = machine(monitor: false)
        #expect(quiet.scanTicked(checkedOut: [], stillCheckedOut: [], threshold: .seconds(10), now: at(1)) == [])
    }

    @Test func aTerminationIsCountedOnceUntilTheConnectionComesBack() {
        var m = machine()
        #expect(
            m.terminationRequested(connectionID: 3, backendPID: 4242, target: 0) == [
                .terminateBackend(connectionID: 3, backendPID: 4242, target: 0)
            ])
        #expect(m.isTerminated(3))
        _ = m.terminationRequested(connectionID: 3, backendPID: 4242, target: 0)  // asked twice
        #expect(m.terminatedCount == 1)
        let message = "Ended connection 3 (backend 4242) on the server; its holder gets an error on next use."
        #expect(
            m.terminationFinished(connectionID: 3, backendPID: 4242, result: .ended, actor: nil, at: at(1)) == [
                emitted(.leakTerminated, message), .reply(MonitorCommandOutcome(succeeded: true, message: message)),
            ])
        #expect(m.terminatedCount == 1)
        m.terminatedConnectionReturned(3)
        #expect(m.terminatedCount == 0)
        #expect(!m.isTerminated(3))
    }

    @Test func aFailedTerminationIsNotCounted() {
        var m = machine()
        _ = m.terminationRequested(connectionID: 3, backendPID: 4242, target: 1)
        #expect(
            m.terminationFinished(connectionID: 3, backendPID: 4242, result: .failed("boom"), actor: nil, at: at(1))
                == [
                    .reply(
                        MonitorCommandOutcome(
                            succeeded: false, message: "Could not end connection 3 on the server: boom"))
                ])
        #expect(m.terminatedCount == 0)
    }

    @Test func theEventNamesWhoAskedAndAGoneBackendIsSaidSo() {
        var m = machine()
        let peer = ControlPeer(uid: 1000, gid: 1000, pid: 77, program: "pooltop")
        _ = m.terminationRequested(connectionID: 3, backendPID: 4242, target: 0)
        let message =
            "Backend 4242 of connection 3 was already gone when by uid 1000 pid 77 (pooltop) asked to end it; "
            + "the pool will discard it when it is returned."
        #expect(
            m.terminationFinished(connectionID: 3, backendPID: 4242, result: .alreadyGone, actor: peer, at: at(1)) == [
                .emit(Event(kind: .leakTerminated, message: message, actor: peer), .info),
                .reply(MonitorCommandOutcome(succeeded: true, message: message)),
            ])
    }

    @Test func nothingIsEndedForAConnectionNotLentOrOnAnUnknownServer() {
        var m = machine()
        #expect(
            m.terminationRequested(connectionID: 3, backendPID: nil, target: nil) == [
                .reply(
                    MonitorCommandOutcome(
                        succeeded: false, message: "Connection 3 is not checked out any more; nothing to end."))
            ])
        #expect(m.terminationRequested(connectionID: 3, backendPID: 4242, target: nil).first?.reply?.succeeded == false)
        #expect(m.terminatedCount == 0)
    }

    @Test func aScanForgetsTerminationsOfConnectionsNoLongerLent() {
        var m = machine(monitor: false)
        _ = m.terminationRequested(connectionID: 3, backendPID: 4242, target: 0)
        // Leak detection off: no infos, but the lent ids still count.
        _ = m.scanTicked(checkedOut: [], stillCheckedOut: [3], threshold: .seconds(10), now: at(1))
        #expect(m.isTerminated(3))
        _ = m.scanTicked(checkedOut: [], stillCheckedOut: [], threshold: .seconds(10), now: at(2))
        #expect(m.terminatedCount == 0)
    }
}

@Suite("ManagerStateMachine: events")
struct ManagerEventTests {
    static let warnings: Set<PoolEvent.Kind> = [
        .connectFailed, .poolTimeout, .healthCheckFailed, .leakDetected, .failoverRefused, .serverRestarted,
    ]

    @Test(arguments: PoolEvent.Kind.allCases)
    func troubleIsAWarningTheRestInformation(kind: PoolEvent.Kind) {
        #expect(ManagerStateMachine.level(of: kind) == (Self.warnings.contains(kind) ? .warning : .info))
    }

    @Test func aRestartNamesTheCurrentTargetAndTheGeneration() {
        var m = machine()
        #expect(
            m.serverRestarted(generation: 4, at: at(1)) == [
                emitted(
                    .serverRestarted,
                    "\(urls[0]) restarted (its start time changed): every connection opened before was replaced "
                        + "(pool generation 4).", at: 1)
            ])
    }
}

extension ManagerStateMachine.Action {
    fileprivate var emittedEvent: ManagerStateMachine.Event? {
        if case .emit(let event, _) = self { return event }
        return nil
    }

    fileprivate func isEmit(_ kind: PoolEvent.Kind) -> Bool { emittedEvent?.kind == kind }

    fileprivate var reply: MonitorCommandOutcome? {
        if case .reply(let outcome) = self { return outcome }
        return nil
    }
}
