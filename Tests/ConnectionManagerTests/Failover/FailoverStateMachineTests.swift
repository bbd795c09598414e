import ConnectionManager
import Foundation
import Testing

typealias FailoverAction = FailoverStateMachine.Action

private let urls = ["postgresql://app:***@db0/app", "postgresql://app:***@db1/app", "postgresql://app:***@db2/app"]
private let t0 = Date(timeIntervalSince1970: 1_700_000_000)
private func at(_ seconds: Double) -> Date { t0 + seconds }

private func machine(
    retryAttempts: Int = 2, allowReadOnly: Bool = false, failback: Bool = false, failbackAfter: Int = 3,
    targets: [String] = urls
) -> FailoverStateMachine {
    FailoverStateMachine(
        targetURLs: targets,
        configuration: .init(
            retryAttempts: retryAttempts, retryDelay: .seconds(1), allowReadOnlyTargets: allowReadOnly,
            isFailbackEnabled: failback, failbackAfter: failbackAfter))
}

/// Drives the current target 0 through its failed retries up to the search; returns the search's actions.
private func exhaustRetries(_ sm: inout FailoverStateMachine) -> [FailoverAction] {
    #expect(sm.checkFailed(target: 0, error: "connection refused", at: at(0)) == [.scheduleRetry(after: .seconds(1))])
    #expect(sm.retryDelayElapsed(at: at(1)) == [.probe([0])])
    #expect(sm.checkFailed(target: 0, error: "connection refused", at: at(1)) == [.scheduleRetry(after: .seconds(1))])
    #expect(sm.retryDelayElapsed(at: at(2)) == [.probe([0])])
    return sm.checkFailed(target: 0, error: "connection refused", at: at(2))
}

@Suite("FailoverStateMachine: automatic")
struct FailoverAutomaticTests {
    @Test func retriesThenSwitchesToTheFirstPrimaryInOrder() {
        var sm = machine()
        #expect(sm.checkSucceeded(target: 0, isInRecovery: false, at: at(-1)) == [])
        #expect(
            sm.checkFailed(target: 0, error: "connection refused", at: at(0)) == [.scheduleRetry(after: .seconds(1))])
        // A periodic check between re-checks does not count as a retry.
        #expect(sm.checkFailed(target: 0, error: "connection refused", at: at(0.5)) == [])
        #expect(sm.phase == .retrying(failedRetries: 0, isAwaitingRetry: false))
        #expect(sm.retryDelayElapsed(at: at(1)) == [.probe([0])])
        #expect(
            sm.checkFailed(target: 0, error: "connection refused", at: at(1)) == [.scheduleRetry(after: .seconds(1))])
        #expect(sm.retryDelayElapsed(at: at(2)) == [.probe([0])])
        #expect(sm.checkFailed(target: 0, error: "connection refused", at: at(2)) == [.probe([1, 2])])
        // Target 2 is a primary but target 1 comes first: wait for its answer.
        #expect(sm.checkSucceeded(target: 2, isInRecovery: false, responseTime: 0.002, at: at(2.1)) == [])
        #expect(sm.checkSucceeded(target: 1, isInRecovery: true, at: at(2.2)) == [.switchTo(2, reason: .automatic)])
        #expect(sm.current == 2)
        #expect(sm.phase == .steady)

        let stats = sm.stats
        #expect(stats.currentURL == urls[2])
        #expect(stats.isPrimary)
        #expect(stats.enabled)
        #expect(stats.failoverCount == 1)
        #expect(stats.lastFailoverAt == at(2.2))
        #expect(stats.targets.map(\.role) == [.unreachable, .standby, .primary])
        #expect(stats.targets.map(\.isCurrent) == [false, false, true])
        #expect(stats.targets.map(\.healthy) == [false, true, true])
        #expect(stats.targets[0].lastError == "connection refused")
        #expect(stats.targets[2].responseTime == 0.002)
        #expect(stats.targets[1].lastCheckedAt == at(2.2))
        #expect(
            stats.history == [FailoverEvent(from: urls[0], to: urls[2], reason: .automatic, at: at(2.2), duration: 0)])
        sm.switchCompleted(at: at(2.25))
        #expect(abs(sm.stats.history[0].duration - 0.05) < 1e-6)
    }

    @Test func switchesAsSoonAsTheFirstCandidateIsAPrimary() {
        var sm = machine()
        #expect(exhaustRetries(&sm) == [.probe([1, 2])])
        #expect(sm.checkSucceeded(target: 1, isInRecovery: false, at: at(3)) == [.switchTo(1, reason: .automatic)])
    }

    @Test func skipsUnreachableAndStandbyTargets() {
        var sm = machine(targets: urls + ["postgresql://app:***@db3/app"])
        #expect(exhaustRetries(&sm) == [.probe([1, 2, 3])])
        #expect(sm.checkFailed(target: 1, error: "timeout after 300 ms", at: at(3)) == [])
        #expect(sm.checkSucceeded(target: 3, isInRecovery: false, at: at(3)) == [])
        #expect(sm.checkSucceeded(target: 2, isInRecovery: true, at: at(3)) == [.switchTo(3, reason: .automatic)])
    }

    @Test func staysPutWhenNoPrimaryAndKeepsProbing() throws {
        var sm = machine()
        #expect(exhaustRetries(&sm) == [.probe([1, 2])])
        #expect(sm.checkSucceeded(target: 1, isInRecovery: true, at: at(3)) == [])
        let actions = sm.checkFailed(target: 2, error: "connection refused", at: at(3))
        #expect(actions.count == 2)
        guard case .stayPut(let message) = actions.first else {
            Issue.record("expected .stayPut, got \(actions)")
            return
        }
        // The next round comes a quarter of the retry delay later: a promoted standby is found that fast.
        #expect(actions.last == .scheduleRetry(after: .milliseconds(250)))
        #expect(message.hasPrefix("No reachable primary among 3 targets"))
        #expect(message.contains("Target 1 (\(urls[1])) is a read-only standby"))
        #expect(message.contains("Target 2 (\(urls[2])) is down (connection refused)"))
        #expect(message.hasSuffix("staying on target 0 and still probing every 0.25 s."))
        #expect(sm.current == 0)
        #expect(sm.phase == .searching(isWaitingForNextRound: true))

        // The next round asks everyone, the current target included; the sentence is not repeated.
        #expect(sm.retryDelayElapsed(at: at(4)) == [.probe([0, 1, 2])])
        #expect(sm.checkFailed(target: 0, error: "connection refused", at: at(4)) == [])
        #expect(sm.checkSucceeded(target: 1, isInRecovery: true, at: at(4)) == [])
        #expect(
            sm.checkFailed(target: 2, error: "connection refused", at: at(4))
                == [.scheduleRetry(after: .milliseconds(250))])
        #expect(sm.stats.history.count == 1)
        #expect(sm.stats.history.first?.refusal == message)
        #expect(sm.stats.failoverCount == 0)

        // Someone promotes target 1: the next answer switches, even between rounds.
        #expect(sm.checkSucceeded(target: 1, isInRecovery: false, at: at(4.5)) == [.switchTo(1, reason: .automatic)])
        #expect(sm.stats.failoverCount == 1)
    }

    @Test func currentTargetRecoveringEndsRetriesAndSearches() {
        var sm = machine()
        #expect(sm.checkFailed(target: 0, error: "reset", at: at(0)) == [.scheduleRetry(after: .seconds(1))])
        #expect(sm.retryDelayElapsed(at: at(1)) == [.probe([0])])
        #expect(sm.checkSucceeded(target: 0, isInRecovery: false, at: at(1)) == [])
        #expect(sm.phase == .steady)
        #expect(sm.retryDelayElapsed(at: at(2)) == [])  // stale timer

        var searching = machine()
        _ = exhaustRetries(&searching)
        #expect(searching.checkSucceeded(target: 0, isInRecovery: false, at: at(3)) == [])
        #expect(searching.phase == .steady)
        #expect(searching.checkSucceeded(target: 1, isInRecovery: false, at: at(3)) == [])
        #expect(searching.current == 0)
    }

    @Test func anotherPrimaryWhileTheCurrentIsDownEndsTheRetriesAtOnce() {
        var sm = machine(retryAttempts: 5)
        // Not down: a primary elsewhere is no reason to move.
        #expect(sm.checkSucceeded(target: 1, isInRecovery: false, at: at(-1)) == [])
        #expect(sm.checkFailed(target: 0, error: "refused", at: at(0)) == [.scheduleRetry(after: .seconds(1))])
        // Target 2 answers as a primary (promoted by someone else); target 1 comes first, so it is asked again.
        #expect(sm.checkSucceeded(target: 2, isInRecovery: false, at: at(0.2)) == [.probe([1])])
        #expect(sm.checkFailed(target: 1, error: "refused", at: at(0.3)) == [.switchTo(2, reason: .automatic)])
        #expect(sm.current == 2)
        #expect(sm.retryDelayElapsed(at: at(1)) == [])  // the retry it no longer waits for
    }

    @Test func zeroRetriesSearchesAtOnce() {
        var sm = machine(retryAttempts: 0)
        #expect(sm.checkFailed(target: 0, error: "refused", at: at(0)) == [.probe([1, 2])])
    }

    @Test func aConnectionFailureOnlyAsksForACheck() {
        var sm = machine()
        #expect(sm.connectionFailureObserved(at: at(0)) == [.probe([0])])
        #expect(sm.phase == .steady)
        #expect(sm.checkFailed(target: 0, error: "refused", at: at(0.1)) == [.scheduleRetry(after: .seconds(1))])
        #expect(sm.connectionFailureObserved(at: at(0.2)) == [])  // already handling it
    }

    @Test(arguments: [false, true])
    func readOnlyTargetsOnlyWithTheOptionAndOnlyWithoutAPrimary(allowReadOnly: Bool) {
        var sm = machine(allowReadOnly: allowReadOnly)
        _ = exhaustRetries(&sm)
        #expect(sm.checkSucceeded(target: 1, isInRecovery: true, at: at(3)) == [])
        let actions = sm.checkFailed(target: 2, error: "refused", at: at(3))
        if allowReadOnly {
            #expect(actions == [.switchTo(1, reason: .automatic)])
            #expect(sm.stats.isPrimary == false)
        } else {
            #expect(actions.last == .scheduleRetry(after: .milliseconds(250)))
            #expect(sm.current == 0)
        }

        var preferPrimary = machine(allowReadOnly: allowReadOnly)
        _ = exhaustRetries(&preferPrimary)
        #expect(preferPrimary.checkSucceeded(target: 1, isInRecovery: true, at: at(3)) == [])
        #expect(
            preferPrimary.checkSucceeded(target: 2, isInRecovery: false, at: at(3)) == [
                .switchTo(2, reason: .automatic)
            ])
    }

    @Test func aSingleTargetStaysPutAndKeepsProbingItself() {
        var sm = machine(retryAttempts: 1, targets: [urls[0]])
        #expect(sm.stats.enabled == false)
        #expect(sm.checkFailed(target: 0, error: "refused", at: at(0)) == [.scheduleRetry(after: .seconds(1))])
        #expect(sm.retryDelayElapsed(at: at(1)) == [.probe([0])])
        let actions = sm.checkFailed(target: 0, error: "refused", at: at(1))
        guard case .stayPut(let message) = actions.first else {
            Issue.record("expected .stayPut, got \(actions)")
            return
        }
        #expect(message.hasPrefix("No reachable primary among 1 target ("))
        #expect(actions.last == .scheduleRetry(after: .milliseconds(250)))
        #expect(sm.retryDelayElapsed(at: at(2)) == [.probe([0])])
        #expect(sm.checkSucceeded(target: 0, isInRecovery: false, at: at(2)) == [])
        #expect(sm.phase == .steady)
    }

    @Test func unknownTargetsInFactsAreIgnored() {
        var sm = machine()
        #expect(sm.checkFailed(target: 7, error: "x", at: at(0)) == [])
        #expect(sm.checkSucceeded(target: -1, isInRecovery: false, at: at(0)) == [])
        #expect(sm.stats.targets.count == 3)
    }

    @Test func healthMonitorResultsAndProbeResultsFeedTheSameWay() {
        var sm = machine()
        let down = HealthCheckResult(
            healthy: false, responseTime: 0.3, error: "timeout", checkedAt: at(0), target: urls[0])
        #expect(sm.resultReceived(target: 0, result: down) == [.scheduleRetry(after: .seconds(1))])
        #expect(sm.stats.targets[0].lastError == "timeout")
        #expect(sm.retryDelayElapsed(at: at(1)) == [.probe([0])])
        #expect(
            sm.probeResult(target: 0, reachable: false, isInRecovery: nil, error: "timeout", at: at(1)) == [
                .scheduleRetry(after: .seconds(1))
            ])
        let primary = HealthCheckResult(
            healthy: true, responseTime: 0.001, checkedAt: at(1.5), target: urls[0], isInRecovery: false,
            serverVersion: "15.18")
        #expect(sm.resultReceived(target: 0, result: primary) == [])
        #expect(sm.phase == .steady)
        #expect(sm.stats.targets[0].role == .primary)
    }
}

@Suite("FailoverStateMachine: demotion (25006)")
struct FailoverDemotionTests {
    @Test func readOnlyErrorEvictsRechecksAndSwitchesToThePromotedTarget() {
        var sm = machine()
        #expect(sm.checkSucceeded(target: 0, isInRecovery: false, at: at(0)) == [])
        #expect(sm.readOnlyErrorObserved(at: at(1)) == [.evictAndRecheck, .probe([0, 1, 2])])
        #expect(sm.stats.targets[0].role == .standby)
        // Every pooled connection hits 25006 at once: one search is enough.
        #expect(sm.readOnlyErrorObserved(at: at(1.01)) == [])
        #expect(sm.checkSucceeded(target: 0, isInRecovery: true, at: at(1.1)) == [])
        #expect(sm.checkSucceeded(target: 1, isInRecovery: false, at: at(1.1)) == [.switchTo(1, reason: .automatic)])
    }

    @Test func aFalseAlarmEndsWhenTheCurrentTargetAnswersAsPrimary() {
        var sm = machine()
        #expect(sm.readOnlyErrorObserved(at: at(1)) == [.evictAndRecheck, .probe([0, 1, 2])])
        #expect(sm.checkSucceeded(target: 0, isInRecovery: false, at: at(1.1)) == [])
        #expect(sm.phase == .steady)
        #expect(sm.current == 0)
    }

    @Test func aCheckFindingTheCurrentTargetInRecoveryIsADemotion() {
        var sm = machine()
        #expect(sm.checkSucceeded(target: 0, isInRecovery: true, at: at(0)) == [.evictAndRecheck, .probe([0, 1, 2])])

        var readOnlyAllowed = machine(allowReadOnly: true)
        #expect(readOnlyAllowed.checkSucceeded(target: 0, isInRecovery: true, at: at(0)) == [])
    }

    @Test func withReadOnlyAllowedItStaysOnADemotedTargetWhenNoPrimaryExists() {
        var sm = machine(allowReadOnly: true)
        #expect(sm.readOnlyErrorObserved(at: at(1)) == [.evictAndRecheck, .probe([0, 1, 2])])
        #expect(sm.checkSucceeded(target: 1, isInRecovery: true, at: at(1.1)) == [])
        #expect(sm.checkFailed(target: 2, error: "refused", at: at(1.1)) == [])  // still waiting for target 0
        #expect(sm.checkSucceeded(target: 0, isInRecovery: true, at: at(1.2)) == [])
        #expect(sm.phase == .steady)
        #expect(sm.current == 0)
    }
}

@Suite("FailoverStateMachine: manual")
struct FailoverManualTests {
    struct Refusal: Sendable, CustomTestStringConvertible {
        let name: String
        let target: Int
        /// The probe answer fed back; `nil` when refused before any probe.
        let answer: (@Sendable (inout FailoverStateMachine) -> [FailoverAction])?
        let reason: String
        var testDescription: String { name }
    }

    static let refusals: [Refusal] = [
        Refusal(
            name: "unknown index", target: 5, answer: nil,
            reason: "There is no target 5; the targets are numbered 0 to 2."),
        Refusal(
            name: "already current", target: 0, answer: nil,
            reason: "Target 0 (\(urls[0])) is already the current target."),
        Refusal(
            name: "down", target: 1,
            answer: { $0.checkFailed(target: 1, error: "connection refused", at: at(1)) },
            reason: "Target 1 (\(urls[1])) is down: connection refused."),
        Refusal(
            name: "read-only standby", target: 2,
            answer: { $0.checkSucceeded(target: 2, isInRecovery: true, at: at(1)) },
            reason: "Target 2 (\(urls[2])) is a read-only standby (pg_is_in_recovery() is true); promote it first, "
                + "or set DB_FAILOVER_ALLOW_READ_ONLY=true (failoverAllowReadOnly) to allow read-only targets."),
    ]

    @Test(arguments: refusals)
    func refusedWithAReason(_ refusal: Refusal) {
        var sm = machine()
        var actions = sm.manualFailoverRequested(to: refusal.target, at: at(0))
        if let answer = refusal.answer {
            #expect(actions == [.probe([refusal.target])])
            actions = answer(&sm)
        }
        #expect(actions == [.refuse(refusal.reason)])
        #expect(sm.current == 0)
        #expect(sm.isManualRequestPending == false)
        #expect(sm.stats.failoverCount == 0)
        #expect(sm.stats.history.last?.refusal == refusal.reason)
        #expect(sm.stats.history.last?.reason == .manual)
    }

    @Test func switchesToAPromotedTargetAfterAFreshProbe() {
        var sm = machine()
        // Earlier checks saw a standby; the person promoted it since.
        #expect(sm.checkSucceeded(target: 1, isInRecovery: true, at: at(0)) == [])
        #expect(sm.manualFailoverRequested(to: 1, at: at(10)) == [.probe([1])])
        #expect(sm.isManualRequestPending)
        #expect(sm.checkSucceeded(target: 1, isInRecovery: false, at: at(10.1)) == [.switchTo(1, reason: .manual)])
        #expect(sm.current == 1)
        #expect(
            sm.stats.history.last
                == FailoverEvent(from: urls[0], to: urls[1], reason: .manual, at: at(10.1), duration: 0))
        #expect(sm.stats.lastFailoverAt == at(10.1))
    }

    @Test func nextSuitableTargetWhenNoneIsNamed() {
        var sm = machine()
        #expect(sm.manualFailoverRequested(to: nil, at: at(0)) == [.probe([1, 2])])
        #expect(sm.checkSucceeded(target: 1, isInRecovery: true, at: at(0.1)) == [])
        #expect(sm.checkSucceeded(target: 2, isInRecovery: false, at: at(0.1)) == [.switchTo(2, reason: .manual)])

        var none = machine()
        #expect(none.manualFailoverRequested(to: nil, at: at(0)) == [.probe([1, 2])])
        #expect(none.checkFailed(target: 2, error: "refused", at: at(0.1)) == [])
        #expect(
            none.checkSucceeded(target: 1, isInRecovery: true, at: at(0.1)) == [
                .refuse(
                    "No other target is a reachable primary: Target 1 (\(urls[1])) is a read-only standby; "
                        + "Target 2 (\(urls[2])) is down (refused).")
            ])

        var alone = machine(targets: [urls[0]])
        #expect(
            alone.manualFailoverRequested(to: nil, at: at(0)) == [
                .refuse("There is no other target to fail over to; only Target 0 (\(urls[0])) is configured.")
            ])
    }

    @Test func readOnlyAllowedLetsAManualSwitchGoToAStandby() {
        var sm = machine(allowReadOnly: true)
        #expect(sm.manualFailoverRequested(to: 2, at: at(0)) == [.probe([2])])
        #expect(sm.checkSucceeded(target: 2, isInRecovery: true, at: at(0.1)) == [.switchTo(2, reason: .manual)])
    }

    @Test func oneManualRequestAtATime() {
        var sm = machine()
        #expect(sm.manualFailoverRequested(to: 1, at: at(0)) == [.probe([1])])
        #expect(
            sm.manualFailoverRequested(to: 2, at: at(1))
                == [.refuse("A manual failover is already in progress; try again when it finishes.")])
        // A request whose probe never answered is given up after the timeout (30 s).
        #expect(sm.manualFailoverRequested(to: 2, at: at(31)) == [.probe([2])])
        #expect(sm.checkSucceeded(target: 1, isInRecovery: false, at: at(31.1)) == [])  // the abandoned one
        #expect(sm.checkSucceeded(target: 2, isInRecovery: false, at: at(31.2)) == [.switchTo(2, reason: .manual)])
    }

    /// Regression: the refusal of a second request also dropped the first one, which its probe then never settled.
    @Test func aSecondRequestIsRefusedWithoutEndingTheFirst() {
        var sm = machine()
        #expect(sm.manualFailoverRequested(to: 1, at: at(0)) == [.probe([1])])
        #expect(
            sm.manualFailoverRequested(to: 2, at: at(0.5))
                == [.refuse("A manual failover is already in progress; try again when it finishes.")])
        #expect(sm.isManualRequestPending)
        #expect(sm.checkSucceeded(target: 1, isInRecovery: false, at: at(0.6)) == [.switchTo(1, reason: .manual)])
    }

    @Test func aManualSwitchEndsAnAutomaticSearch() {
        var sm = machine()
        _ = exhaustRetries(&sm)
        #expect(sm.manualFailoverRequested(to: 2, at: at(3)) == [.probe([2])])
        #expect(sm.checkSucceeded(target: 2, isInRecovery: false, at: at(3.1)) == [.switchTo(2, reason: .manual)])
        #expect(sm.phase == .steady)
        #expect(sm.checkSucceeded(target: 1, isInRecovery: false, at: at(3.2)) == [])
    }

    @Test func aRefusedManualAnswerStillCountsForTheAutomaticSearch() {
        var sm = machine()
        _ = exhaustRetries(&sm)
        #expect(sm.manualFailoverRequested(to: 1, at: at(3)) == [.probe([1])])
        #expect(
            sm.checkFailed(target: 1, error: "refused", at: at(3.1))
                == [.refuse("Target 1 (\(urls[1])) is down: refused.")])
        #expect(sm.checkSucceeded(target: 2, isInRecovery: false, at: at(3.2)) == [.switchTo(2, reason: .automatic)])
    }

    @Test func historyIsBounded() {
        var sm = FailoverStateMachine(targetURLs: urls, configuration: .init(historyLimit: 3))
        for n in 0..<10 { _ = sm.manualFailoverRequested(to: 10 + n, at: at(Double(n))) }
        #expect(sm.stats.history.map(\.at) == [at(7), at(8), at(9)])
    }
}

@Suite("FailoverStateMachine: failback")
struct FailoverFailbackTests {
    /// A machine that already failed over from target 0 to target 1.
    static func failedOver(failback: Bool, after k: Int = 3) -> FailoverStateMachine {
        var sm = machine(failback: failback, failbackAfter: k)
        _ = sm.manualFailoverRequested(to: 1, at: at(0))
        #expect(sm.checkSucceeded(target: 1, isInRecovery: false, at: at(0)) == [.switchTo(1, reason: .manual)])
        return sm
    }

    @Test func returnsToTargetZeroAfterKHealthyPrimaryChecks() {
        var sm = Self.failedOver(failback: true)
        #expect(sm.checkSucceeded(target: 0, isInRecovery: false, at: at(10)) == [])
        #expect(sm.checkSucceeded(target: 0, isInRecovery: false, at: at(20)) == [])
        #expect(sm.checkSucceeded(target: 0, isInRecovery: false, at: at(30)) == [.switchTo(0, reason: .failback)])
        #expect(sm.current == 0)
        #expect(sm.stats.failoverCount == 2)
        #expect(sm.stats.history.last?.reason == .failback)
        #expect(sm.checkSucceeded(target: 0, isInRecovery: false, at: at(40)) == [])
    }

    @Test func aFlappingTargetZeroNeverQualifies() {
        var sm = Self.failedOver(failback: true)
        let answers: [Bool?] = [true, true, nil, true, true, false, true, true, nil]  // nil = down, false = standby
        for (n, isPrimary) in answers.enumerated() {
            let actions =
                isPrimary.map { sm.checkSucceeded(target: 0, isInRecovery: !$0, at: at(Double(n))) }
                ?? sm.checkFailed(target: 0, error: "refused", at: at(Double(n)))
            #expect(actions == [])
        }
        #expect(sm.current == 1)
        #expect(sm.checkSucceeded(target: 0, isInRecovery: false, at: at(20)) == [])
        #expect(sm.checkSucceeded(target: 0, isInRecovery: false, at: at(21)) == [])
        #expect(sm.checkSucceeded(target: 0, isInRecovery: false, at: at(22)) == [.switchTo(0, reason: .failback)])
    }

    @Test func offByDefault() {
        var sm = Self.failedOver(failback: false)
        for n in 0..<20 { #expect(sm.checkSucceeded(target: 0, isInRecovery: false, at: at(Double(n))) == []) }
        #expect(sm.current == 1)
    }
}

@Suite("FailoverTargetValidation")
struct FailoverTargetValidationTests {
    @Test func rejectsTheSameServerTwice() {
        #expect(throws: ConfigurationError.duplicateTarget(url: "postgresql://b:***@DB1:5432/app")) {
            try FailoverTargetValidation.validateDistinct(
                identities: ["db1:5432/app", "db2:5432/app", "db1:5432/app"],
                maskedURLs: ["postgresql://a:***@db1/app", "postgresql://db2/app", "postgresql://b:***@DB1:5432/app"])
        }
    }

    @Test func acceptsDistinctServers() throws {
        try FailoverTargetValidation.validateDistinct(
            identities: ["db1:5432/app", "db1:5433/app", "db1:5432/other"], maskedURLs: ["a", "b", "c"])
        try FailoverTargetValidation.validateDistinct(identities: [], maskedURLs: [])
    }
}

@Suite("FailoverStateMachine: automatic failover disabled")
struct FailoverDisabledTests {
    private func disabled(failback: Bool = false) -> FailoverStateMachine {
        FailoverStateMachine(
            targetURLs: urls,
            configuration: .init(
                retryAttempts: 2, retryDelay: .seconds(1), isFailbackEnabled: failback,
                isAutomaticFailoverEnabled: false))
    }

    /// Regression: with failover URLs and DB_FAILOVER_ENABLED=false, the machine used to switch its current target,
    /// count a failover and record it before the manager refused; nothing may change before a refusal.
    @Test func aDeadTargetIsRetriedForeverAndNothingSwitches() {
        var sm = disabled()
        #expect(sm.checkSucceeded(target: 0, isInRecovery: false, at: at(-1)) == [])
        let actions = exhaustRetries(&sm)
        let message =
            "Automatic failover is off (DB_FAILOVER_ENABLED=false): staying on \(urls[0]) and re-checking it; "
            + "fail over by hand if another target should take over."
        #expect(actions == [.stayPut(message), .scheduleRetry(after: .seconds(1))])
        #expect(sm.current == 0)
        #expect(sm.stats.failoverCount == 0)
        #expect(sm.stats.currentURL == urls[0])
        #expect(sm.stats.history.isEmpty)
        #expect(!sm.stats.enabled)
        // It keeps re-checking the current target, and says so only once per outage.
        #expect(sm.retryDelayElapsed(at: at(3)) == [.probe([0])])
        #expect(
            sm.checkFailed(target: 0, error: "connection refused", at: at(3)) == [.scheduleRetry(after: .seconds(1))])
        #expect(sm.retryDelayElapsed(at: at(4)) == [.probe([0])])
        #expect(
            sm.checkFailed(target: 0, error: "connection refused", at: at(4)) == [.scheduleRetry(after: .seconds(1))])
        #expect(sm.retryDelayElapsed(at: at(5)) == [.probe([0])])
        #expect(
            sm.checkFailed(target: 0, error: "connection refused", at: at(5)) == [.scheduleRetry(after: .seconds(1))])
        // A primary elsewhere does not tempt it.
        #expect(sm.checkSucceeded(target: 1, isInRecovery: false, at: at(5.5)) == [])
        #expect(sm.retryDelayElapsed(at: at(6)) == [.probe([0])])
        #expect(sm.checkSucceeded(target: 0, isInRecovery: false, at: at(6)) == [])
        #expect(sm.phase == .steady)
        #expect(sm.current == 0)
        // The next outage is reported again.
        #expect(exhaustRetriesFrom(&sm, start: 10).first == .stayPut(message))
    }

    @Test func aDemotedTargetIsEvictedButNotLeft() {
        var sm = disabled()
        #expect(sm.checkSucceeded(target: 0, isInRecovery: true, at: at(0)).first == .evictAndRecheck)
        #expect(sm.current == 0)
        #expect(sm.stats.failoverCount == 0)
    }

    @Test func noFailbackWhenAutomaticFailoverIsOff() {
        var sm = disabled(failback: true)
        #expect(sm.manualFailoverRequested(to: 1, at: at(0)) == [.probe([1])])
        #expect(sm.checkSucceeded(target: 1, isInRecovery: false, at: at(0.1)) == [.switchTo(1, reason: .manual)])
        for i in 1...5 { #expect(sm.checkSucceeded(target: 0, isInRecovery: false, at: at(Double(i))) == []) }
        #expect(sm.current == 1)
    }
}

private func exhaustRetriesFrom(_ sm: inout FailoverStateMachine, start: Double) -> [FailoverAction] {
    #expect(sm.checkFailed(target: 0, error: "down", at: at(start)) == [.scheduleRetry(after: .seconds(1))])
    #expect(sm.retryDelayElapsed(at: at(start + 1)) == [.probe([0])])
    #expect(sm.checkFailed(target: 0, error: "down", at: at(start + 1)) == [.scheduleRetry(after: .seconds(1))])
    #expect(sm.retryDelayElapsed(at: at(start + 2)) == [.probe([0])])
    return sm.checkFailed(target: 0, error: "down", at: at(start + 2))
}
