import Foundation

/// Decides when and where to fail over between database targets. Pure: no I/O, no clock, no locks.
///
/// The manager feeds it facts (health check results, connection failures seen by checkouts, SQLSTATE 25006,
/// manual requests, elapsed retry timers) with the time they happened, and runs the actions it returns.
/// Keep it inside the manager's lock; run the actions after unlocking.
///
/// Rules:
/// - A failed check of the current target is retried `retryAttempts` times, `retryDelay` apart; then the
///   others are probed and the first one (in target order) that answers as a primary wins. Standbys only
///   qualify with `allowReadOnlyTargets`, and only when no target is a primary. Another target answering as a
///   primary while the current one is down starts that search at once (no waiting out the retries).
/// - When no target qualifies it stays put, says so once, and probes every target again every `searchInterval`
///   (a quarter of `retryDelay`) until one qualifies (or the current one recovers), so a standby promoted by
///   someone else is taken within that interval.
/// - A read-only error (25006), or a check finding the current target in recovery, means it was demoted:
///   evict its connections and re-check every role.
/// - Manual failover probes its target(s) afresh and switches or refuses with a sentence saying why.
/// - Failback (off by default) returns to target 0 after `failbackAfter` consecutive healthy primary checks.
public struct FailoverStateMachine: Sendable {
    /// Retry, read-only and failback policy.
    public struct Configuration: Sendable, Equatable {
        /// Re-checks of a failed current target before looking elsewhere (default 3; 0 = look at once).
        public var retryAttempts: Int
        /// Time between re-checks, and between probing rounds while no target qualifies (default 1 s).
        public var retryDelay: Duration
        /// Whether a standby may become the current target when no primary answers (default false).
        public var allowReadOnlyTargets: Bool
        /// Whether to return to target 0 once it is a healthy primary again (default false).
        public var isFailbackEnabled: Bool
        /// Consecutive healthy primary checks of target 0 required before failing back (default 3).
        public var failbackAfter: Int
        /// Failover events kept in `stats.history` (default 50).
        public var historyLimit: Int
        /// A manual request whose probes never answered is given up after this long (default 30 s).
        public var manualRequestTimeout: Duration
        /// Whether the machine may leave a failed or demoted target on its own (`DB_FAILOVER_ENABLED`, default
        /// true). When false it keeps re-checking the current target; only a person's request switches (no failback).
        public var isAutomaticFailoverEnabled: Bool
        /// Time between probing rounds while no target qualifies (default a quarter of `retryDelay`, at least
        /// 100 ms): a promoted standby is found within one such interval, not one retry delay.
        public var searchInterval: Duration

        public init(
            retryAttempts: Int = 3, retryDelay: Duration = .seconds(1), allowReadOnlyTargets: Bool = false,
            isFailbackEnabled: Bool = false, failbackAfter: Int = 3, historyLimit: Int = 50,
            manualRequestTimeout: Duration = .seconds(30), isAutomaticFailoverEnabled: Bool = true,
            searchInterval: Duration? = nil
        ) {
            self.isAutomaticFailoverEnabled = isAutomaticFailoverEnabled
            self.searchInterval = searchInterval ?? max(.milliseconds(100), retryDelay / 4)
            self.retryAttempts = max(0, retryAttempts)
            self.retryDelay = retryDelay
            self.allowReadOnlyTargets = allowReadOnlyTargets
            self.isFailbackEnabled = isFailbackEnabled
            self.failbackAfter = max(1, failbackAfter)
            self.historyLimit = max(0, historyLimit)
            self.manualRequestTimeout = manualRequestTimeout
        }
    }

    /// What the manager must do. Run them in order, after leaving the lock.
    public enum Action: Sendable, Equatable {
        /// Check these targets now (`HealthMonitor.probe`) and feed each result back.
        case probe([Int])
        /// Call `retryDelayElapsed(at:)` after this long (one pending timer is enough; later ones replace it).
        case scheduleRetry(after: Duration)
        /// Make this target current: new checkouts go there, old connections are closed when returned.
        /// Also `HealthMonitor.setCurrentTarget`. Then, optionally, `switchCompleted(at:)`.
        case switchTo(Int, reason: FailoverEvent.Reason)
        /// A manual failover was refused; the sentence says why (show it to the person who asked).
        case refuse(String)
        /// No target qualifies; staying on the current one and still probing. A sentence for the event log.
        case stayPut(String)
        /// The current target is read-only now: close its idle connections and those returned later.
        case evictAndRecheck
    }

    /// Where the automatic failover logic stands.
    public enum Phase: Sendable, Equatable {
        /// The current target is believed usable.
        /// Next: `.retrying` when a check of it fails; `.searching` when it is found read-only or
        /// `retryAttempts` is 0; a failback switch keeps `.steady`.
        case steady
        /// The current target failed; it is re-checked every `retryDelay`.
        /// `failedRetries` counts failed re-checks; `isAwaitingRetry` is true while a re-check is out.
        /// Next: `.steady` when it answers as a primary; `.searching` after `retryAttempts` failed re-checks
        /// or when it answers as a standby, or when another target answers as a primary while it is down.
        case retrying(failedRetries: Int, isAwaitingRetry: Bool)
        /// Probing for a target to switch to, round after round.
        /// `isWaitingForNextRound` is true after a fruitless round, until `retryDelayElapsed`.
        /// Next: `.steady` after a switch, or when the current target answers as a primary again.
        case searching(isWaitingForNextRound: Bool)
    }

    /// What one check said about one target.
    enum Observation: Sendable, Equatable {
        case down(String)
        case primary
        case standby
        /// Reachable, role not reported.
        case reachable
    }

    /// One round of probes: which targets were asked and what answered since.
    struct Round: Sendable {
        var probed: Set<Int> = []
        var fresh: [Int: Observation] = [:]
        var hasReportedNoPrimary = false
    }

    /// A manual request waiting for its probes.
    struct ManualRequest: Sendable {
        /// `nil` = the next suitable target.
        var target: Int?
        var requestedAt: Date
        var fresh: [Int: Observation] = [:]
    }

    public let configuration: Configuration
    /// Masked URLs, index 0 = the primary URL, then the failover URLs in order.
    public let targetURLs: [String]
    /// Index of the target in use.
    public private(set) var current: Int
    public private(set) var phase: Phase = .steady

    var statuses: [TargetStatus]
    var round = Round()
    var manual: ManualRequest?
    var failbackStreak = 0
    var failoverCount = 0
    var lastFailoverAt: Date?
    var history: [FailoverEvent] = []
    /// Automatic failover is off and this outage was already reported (cleared when the target answers again).
    var hasReportedDisabledOutage = false

    /// - Parameters:
    ///   - targetURLs: masked URLs (never raw ones: they end up in stats and messages); at least one.
    ///   - current: the target in use at start (default 0).
    public init(targetURLs: [String], current: Int = 0, configuration: Configuration = Configuration()) {
        precondition(!targetURLs.isEmpty, "at least one target")
        precondition(targetURLs.indices.contains(current), "current must be a valid target index")
        self.targetURLs = targetURLs
        self.current = current
        self.configuration = configuration
        self.statuses = targetURLs.enumerated().map { index, url in
            TargetStatus(index: index, url: url, role: .unknown, healthy: false, isCurrent: index == current)
        }
    }

    /// The `failover_stats` view: current target, counters, per-target status and recent events.
    public var stats: FailoverStats {
        FailoverStats(
            currentURL: targetURLs[current], isPrimary: statuses[current].role == .primary,
            failoverCount: failoverCount, lastFailoverAt: lastFailoverAt,
            enabled: targetURLs.count > 1 && configuration.isAutomaticFailoverEnabled,
            targets: statuses.map { status in
                var status = status
                status.isCurrent = status.index == current
                return status
            },
            history: history, allowsReadOnlyTargets: configuration.allowReadOnlyTargets)
    }

    /// Whether a manual request is waiting for probe results.
    public var isManualRequestPending: Bool { manual != nil }

    // MARK: - Facts

    /// A health check (or probe) of `target` succeeded; `isInRecovery` is `pg_is_in_recovery()`.
    public mutating func checkSucceeded(
        target: Int, isInRecovery: Bool, responseTime: Double? = nil, at: Date
    ) -> [Action] {
        observe(target, isInRecovery ? .standby : .primary, responseTime: responseTime, at: at)
    }

    /// A health check (or probe) of `target` failed; `error` is a sentence without passwords.
    public mutating func checkFailed(target: Int, error: String, at: Date) -> [Action] {
        observe(target, .down(error), responseTime: nil, at: at)
    }

    /// The answer to a `.probe`; the same as `checkSucceeded` / `checkFailed`.
    public mutating func probeResult(
        target: Int, reachable: Bool, isInRecovery: Bool?, error: String? = nil, at: Date
    ) -> [Action] {
        guard reachable else { return observe(target, .down(error ?? "unreachable"), responseTime: nil, at: at) }
        let observation: Observation = isInRecovery.map { $0 ? .standby : .primary } ?? .reachable
        return observe(target, observation, responseTime: nil, at: at)
    }

    /// Feeds a `HealthMonitor` result for `target`.
    public mutating func resultReceived(target: Int, result: HealthCheckResult) -> [Action] {
        guard result.healthy else {
            return observe(
                target, .down(result.error ?? "health check failed"), responseTime: nil, at: result.checkedAt)
        }
        let observation: Observation = result.isInRecovery.map { $0 ? .standby : .primary } ?? .reachable
        return observe(target, observation, responseTime: result.responseTime, at: result.checkedAt)
    }

    /// A checkout or query saw a connection-level failure on the current target.
    ///
    /// One broken connection does not condemn a server (a backend may have been terminated), so this only
    /// asks for a check of the current target; a failed check starts the retries.
    public mutating func connectionFailureObserved(at: Date) -> [Action] {
        phase == .steady ? [.probe([current])] : []
    }

    /// A query on the current target failed with SQLSTATE 25006: the server is read-only now (demoted).
    public mutating func readOnlyErrorObserved(at: Date) -> [Action] {
        statuses[current].role = .standby
        return demoted(at: at)
    }

    /// The delay asked for by `.scheduleRetry` has passed.
    public mutating func retryDelayElapsed(at: Date) -> [Action] {
        switch phase {
        case .retrying(let failedRetries, isAwaitingRetry: false):
            phase = .retrying(failedRetries: failedRetries, isAwaitingRetry: true)
            return [.probe([current])]
        case .searching(isWaitingForNextRound: true):
            phase = .searching(isWaitingForNextRound: false)
            round.fresh = [:]
            round.probed = Set(targetURLs.indices)
            return [.probe(Array(targetURLs.indices))]
        default:
            return []  // A stale timer: the situation it was for is over.
        }
    }

    /// The manager finished applying `.switchTo` (the new target serves checkouts); records the switch's duration.
    public mutating func switchCompleted(at: Date) {
        guard let last = history.indices.last, history[last].refusal == nil else { return }
        history[last].duration = max(0, at.timeIntervalSince(history[last].at))
    }

    // MARK: - Core

    mutating func observe(_ target: Int, _ observation: Observation, responseTime: Double?, at: Date) -> [Action] {
        guard targetURLs.indices.contains(target) else { return [] }
        record(target, observation, responseTime: responseTime, at: at)
        trackFailback(target, observation)

        var settled: [Action] = []
        // Only a check that started after the request is a fresh probe; one already running (the monitor's)
        // must not settle it, or the person who asked would never see the answer to their own probe.
        if let request = manual, at >= request.requestedAt {
            manual?.fresh[target] = observation
            settled = evaluateManual(at: at)
            // A manual switch supersedes the automatic logic; a refusal leaves it to use the answer too.
            if case .switchTo = settled.first { return settled }
        }
        return settled + automaticPhaseObserved(target, observation, at: at)
    }

    private mutating func automaticPhaseObserved(_ target: Int, _ observation: Observation, at: Date) -> [Action] {
        switch phase {
        case .steady:
            if target == current { return currentObservedWhileSteady(observation, at: at) }
            if target == 0, configuration.isFailbackEnabled, configuration.isAutomaticFailoverEnabled, current != 0,
                failbackStreak >= configuration.failbackAfter
            {
                return [performSwitch(to: 0, reason: .failback, at: at)]
            }
            return []
        case .retrying(let failedRetries, let isAwaitingRetry):
            guard target == current else { return otherObservedWhileRetrying(target, observation, at: at) }
            switch observation {
            case .primary:
                phase = .steady
                hasReportedDisabledOutage = false
                return []
            case .reachable:
                return []  // Alive, role unknown: keep re-checking until a check reports the role.
            case .standby:
                if configuration.allowReadOnlyTargets {
                    phase = .steady
                    return []
                }
                if !configuration.isAutomaticFailoverEnabled, hasReportedDisabledOutage {
                    // Already evicted and reported: re-check quietly instead of evicting every retry.
                    guard isAwaitingRetry else { return [] }
                    phase = .retrying(failedRetries: 0, isAwaitingRetry: false)
                    return [.scheduleRetry(after: configuration.retryDelay)]
                }
                return demoted(at: at)
            case .down:
                // Periodic checks between re-checks do not count: attempts stay `retryDelay` apart.
                guard isAwaitingRetry else { return [] }
                let failed = failedRetries + 1
                if failed >= configuration.retryAttempts { return startSearch(includingCurrent: false, at: at) }
                phase = .retrying(failedRetries: failed, isAwaitingRetry: false)
                return [.scheduleRetry(after: configuration.retryDelay)]
            }
        case .searching:
            round.fresh[target] = observation
            return evaluateSearch(at: at)
        }
    }

    /// The current target is down and `target` answers as a primary: waiting out the retries would only keep the
    /// pool failing. The search starts now with that answer in hand (targets before it in the list still come first).
    private mutating func otherObservedWhileRetrying(_ target: Int, _ observation: Observation, at: Date) -> [Action] {
        guard observation == .primary, configuration.isAutomaticFailoverEnabled, statuses[current].role == .unreachable
        else { return [] }
        let others = targetURLs.indices.filter { $0 != current }
        phase = .searching(isWaitingForNextRound: false)
        round = Round(probed: Set(others), fresh: [target: observation])
        let decided = evaluateSearch(at: at)
        if !decided.isEmpty { return decided }
        return [.probe(others.filter { round.fresh[$0] == nil })]
    }

    private mutating func currentObservedWhileSteady(_ observation: Observation, at: Date) -> [Action] {
        switch observation {
        case .primary, .reachable:
            return []
        case .standby:
            return configuration.allowReadOnlyTargets ? [] : demoted(at: at)
        case .down:
            if configuration.retryAttempts == 0 { return startSearch(includingCurrent: false, at: at) }
            phase = .retrying(failedRetries: 0, isAwaitingRetry: false)
            return [.scheduleRetry(after: configuration.retryDelay)]
        }
    }

    private mutating func demoted(at: Date) -> [Action] {
        // Many pooled connections hit 25006 at once: one search is enough.
        if case .searching = phase { return [] }
        return [.evictAndRecheck] + startSearch(includingCurrent: true, at: at)
    }

    private mutating func startSearch(includingCurrent: Bool, at: Date) -> [Action] {
        // Decide before anything changes: with automatic failover off, the current target stays and is re-checked.
        guard configuration.isAutomaticFailoverEnabled else { return keepRetryingCurrent() }
        phase = .searching(isWaitingForNextRound: false)
        let probed = targetURLs.indices.filter { includingCurrent || $0 != current }
        round = Round(probed: Set(probed))
        // A single target has nobody to ask: the round is over before it began.
        if probed.isEmpty { return evaluateSearch(at: at) }
        return [.probe(probed)]
    }

    /// Automatic failover is off: keep re-checking the current target every `retryDelay`; say so once per outage.
    private mutating func keepRetryingCurrent() -> [Action] {
        phase = .retrying(failedRetries: 0, isAwaitingRetry: false)
        var actions: [Action] = []
        if !hasReportedDisabledOutage {
            hasReportedDisabledOutage = true
            actions.append(
                .stayPut(
                    "Automatic failover is off (DB_FAILOVER_ENABLED=false): staying on \(targetURLs[current]) and "
                        + "re-checking it; fail over by hand if another target should take over."))
        }
        return actions + [.scheduleRetry(after: configuration.retryDelay)]
    }

    /// Switches to the first qualifying target once every target before it has answered this round.
    private mutating func evaluateSearch(at: Date) -> [Action] {
        if round.fresh[current] == .primary {
            phase = .steady  // The current target is back (or the read-only alarm was false).
            return []
        }
        let others = targetURLs.indices.filter { $0 != current }
        if let primary = firstPrimaryWithAnsweredPrefix(others, in: round.fresh) {
            return [performSwitch(to: primary, reason: .automatic, at: at)]
        }
        guard round.probed.allSatisfy({ round.fresh[$0] != nil }) else { return [] }
        if configuration.allowReadOnlyTargets {
            if round.fresh[current] == .standby {
                phase = .steady  // Read-only is allowed and nothing better exists: keep it.
                return []
            }
            if let standby = others.first(where: { round.fresh[$0] == .standby }) {
                return [performSwitch(to: standby, reason: .automatic, at: at)]
            }
        }
        guard phase == .searching(isWaitingForNextRound: false) else { return [] }
        phase = .searching(isWaitingForNextRound: true)
        var actions: [Action] = []
        if !round.hasReportedNoPrimary {
            round.hasReportedNoPrimary = true
            let message = noPrimaryMessage()
            appendEvent(
                FailoverEvent(
                    from: targetURLs[current], to: "", reason: .automatic, at: at, duration: 0, refusal: message))
            actions.append(.stayPut(message))
        }
        actions.append(.scheduleRetry(after: configuration.searchInterval))
        return actions
    }

    /// The first of `candidates` answering as a primary, provided every candidate before it has answered.
    func firstPrimaryWithAnsweredPrefix(_ candidates: [Int], in fresh: [Int: Observation]) -> Int? {
        for index in candidates {
            guard let observation = fresh[index] else { return nil }
            if observation == .primary { return index }
        }
        return nil
    }

    mutating func performSwitch(to target: Int, reason: FailoverEvent.Reason, at: Date) -> Action {
        appendEvent(
            FailoverEvent(from: targetURLs[current], to: targetURLs[target], reason: reason, at: at, duration: 0))
        current = target
        failoverCount += 1
        lastFailoverAt = at
        failbackStreak = 0
        phase = .steady
        manual = nil
        round = Round()
        return .switchTo(target, reason: reason)
    }

    mutating func appendEvent(_ event: FailoverEvent) {
        history.append(event)
        if history.count > configuration.historyLimit {
            history.removeFirst(history.count - configuration.historyLimit)
        }
    }

    private mutating func record(_ target: Int, _ observation: Observation, responseTime: Double?, at: Date) {
        statuses[target].lastCheckedAt = at
        switch observation {
        case .down(let error):
            statuses[target].role = .unreachable
            statuses[target].healthy = false
            statuses[target].lastError = error
            statuses[target].responseTime = nil
        case .primary, .standby, .reachable:
            statuses[target].role = observation == .primary ? .primary : observation == .standby ? .standby : .unknown
            statuses[target].healthy = true
            statuses[target].lastError = nil
            statuses[target].responseTime = responseTime
        }
    }

    private mutating func trackFailback(_ target: Int, _ observation: Observation) {
        guard target == 0 else { return }
        // Any failure or standby answer restarts the count: a flapping target 0 never qualifies.
        failbackStreak = observation == .primary && current != 0 ? failbackStreak + 1 : 0
    }
}
