import Foundation
import Logging

/// The manager's decisions: when a check is news ("failed", "recovered"), how a probe runs, what the failover
/// machine's answers mean for the pool, what a person's manual failover came to, which connections were ended as
/// leaks, and how loud each event is. Pure: no I/O, no clock, no locks.
///
/// `ConnectionManager` keeps it inside its lock (`PoolLock`) (in ``ManagerState``), steps it with a fact and the time it
/// happened, unlocks, then performs the actions in order — no lock is held across libpq, as `ConnectionPool` does
/// with `PoolStateMachine`. It owns the failover machine, the health history per target, the leak ledger and the
/// set of connections ended as leaks (one record each; the shell mirrors ``terminatedCount`` into an atomic).
struct ManagerStateMachine: Sendable {
    struct Configuration: Sendable, Equatable {
        /// Masked URLs, index 0 = `databaseURL`, then the failover URLs (never raw ones: they end up in events).
        var targetURLs: [String]
        /// Retry, read-only, failback and `DB_FAILOVER_ENABLED` policy, decided by the failover machine.
        var failover: FailoverStateMachine.Configuration
        /// When the manager started: a check dated before it (or within 1 ms of it) is nobody's recovery.
        var startedAt: Date
        /// Whether a `HealthMonitor` runs (periodic checks on); it then runs the automatic probes.
        var hasHealthMonitor: Bool
    }

    /// Where a probe runs; every answer is fed back (`healthChecked` from the monitor, `probeAnswered` otherwise).
    enum ProbeRoute: Sendable, Equatable {
        /// `HealthMonitor.probe`: asynchronous and coalesced with the monitor's own checks.
        case monitor
        /// On the manager's control queue (no monitor), never on the thread whose checkout or query just failed:
        /// against a stopped server that would add a whole connect timeout to its error.
        case controlQueue
        /// On the calling thread, at once: a person waits for the answer (manual failover).
        case callingThread
    }

    /// One entry for the event log (and the log, unless `isLogged` is false).
    struct Event: Sendable, Equatable {
        var kind: PoolEvent.Kind
        /// A full sentence; URLs masked (the shell scrubs passwords once more).
        var message: String
        /// When it happened; `nil` = when the shell records it.
        var at: Date?
        var isLogged = true
        /// The control-socket peer who caused it (named in the log line's metadata).
        var actor: ControlPeer?
    }

    /// What the shell must do, in order, after unlocking.
    enum Action: Sendable, Equatable {
        /// Check these targets; feed each answer back.
        case probe([Int], via: ProbeRoute)
        /// Step `retryDelayElapsed(at:)` after this long.
        case scheduleRetry(after: Duration)
        /// Make `to` current in one step: retarget the connection factory, invalidate the pool's connections to
        /// the old target (a new generation), tell the health monitor, step `switchApplied(at:)`, record `event`.
        case switchTarget(to: Int, event: Event)
        /// The current target turned read-only: close its idle connections now and lent ones when they return.
        case evictConnections
        /// Record this event at this level.
        case emit(Event, Logger.Level)
        /// Log a newly detected leak's checkout stack (symbolicated off the scan's queue) after `message`.
        case logLeakStack(message: String, stack: CapturedStack?)
        /// Read what the server says about these leaked backends (the overview of the current target first when
        /// `readsOverview`: one query shows the whole server); step `activityFetched` with the rows.
        case fetchActivity(leakedPIDs: [Int32], readsOverview: Bool)
        /// `pg_terminate_backend(backendPID)` on `target`'s monitoring connection; step `terminationFinished`.
        case terminateBackend(connectionID: Int, backendPID: Int32, target: Int)
        /// Answer the person who asked (a manual failover, a termination).
        case reply(MonitorCommandOutcome)
    }

    /// Why a statement or checkout failed, as far as the manager cares.
    enum StatementFailure: Sendable, Equatable {
        /// A connection-level error (the server went away or never answered).
        case connectionLost
        /// SQLSTATE 25006 from a server that is a standby: demoted.
        case readOnly

        /// `nil` for errors that say nothing about the server (a syntax error, a constraint).
        init?(_ error: PostgresError) {
            if error.isReadOnlyTransaction {
                self = .readOnly
            } else if error.isConnectionLevel {
                self = .connectionLost
            } else {
                return nil
            }
        }
    }

    let configuration: Configuration
    var failover: FailoverStateMachine
    /// Health history per target (index as in `targetURLs`).
    private(set) var histories: [HealthHistory]
    /// The last health sequence given out (``recordHealth(target:_:)``); never reused in this process.
    private(set) var healthSequence = 0
    /// What the last check of the current target said (`nil` before the first one and after a switch).
    private(set) var lastHealthy: Bool?
    var ledger = LeakLedger()
    /// Connections ended on the server as leaks and not yet given back: the one record of them.
    var terminated: Set<Int> = []
    /// Manual failover requests, numbered (see `ManagerStateMachine+Manual.swift`).
    var lastTicket = 0
    /// The request the failover machine is settling (at most one at a time).
    var pendingTicket: Int?
    /// Outcomes of settled requests whose caller has not collected them yet.
    var replies: [Int: MonitorCommandOutcome] = [:]

    init(configuration: Configuration) {
        precondition(!configuration.targetURLs.isEmpty, "at least one target")
        self.configuration = configuration
        failover = FailoverStateMachine(targetURLs: configuration.targetURLs, configuration: configuration.failover)
        histories = configuration.targetURLs.map { _ in HealthHistory() }
    }

    var current: Int { failover.current }
    /// Whether the last check of the current target failed (the server view is not read from a silent server).
    var isCurrentTargetFailing: Bool { lastHealthy == false }
    var terminatedCount: Int { terminated.count }

    func isTerminated(_ connectionID: Int) -> Bool {
        terminated.contains(connectionID)
    }

    /// Automatic probes go to the monitor when there is one.
    var automaticRoute: ProbeRoute { configuration.hasHealthMonitor ? .monitor : .controlQueue }

    // MARK: - Facts: health

    /// A check by the health monitor (or `checkHealthNow`) of `target` finished. A check of the current target
    /// that differs from the last one is news: "failed"; or "recovered" when the last one failed — not for the
    /// first check, nor for the first after a switch (the new target never stopped answering), nor for a check
    /// dated within 1 ms of the manager's start (`checkedAt` is when the check began).
    mutating func healthChecked(target: Int, result: HealthCheckResult) -> [Action] {
        guard histories.indices.contains(target) else { return [] }
        let from = current
        recordHealth(target: target, result)
        var actions: [Action] = []
        if target == current {
            if !result.healthy, lastHealthy != false {
                actions.append(
                    emit(
                        .healthCheckFailed, "Health check of \(result.target) failed: \(result.error ?? "no answer").",
                        at: result.checkedAt))
            } else if result.healthy, lastHealthy == false,
                result.checkedAt > configuration.startedAt.addingTimeInterval(0.001)
            {
                actions.append(
                    emit(
                        .healthRecovered, "\(result.target) answers again (\(Self.millis(result.responseTime))).",
                        at: result.checkedAt))
            }
            lastHealthy = result.healthy
        }
        return actions + translate(failover.resultReceived(target: target, result: result), from: from)
    }

    /// Appends to `target`'s history under the next health sequence (one counter over all targets, from 1).
    private mutating func recordHealth(target: Int, _ result: HealthCheckResult) {
        healthSequence += 1
        histories[target].append(result, sequence: healthSequence)
    }

    /// The answer to a `.probe` the shell ran itself (`.controlQueue` or `.callingThread`); it goes to the history
    /// and the failover machine, and further probes it asks for take the same route.
    mutating func probeAnswered(target: Int, result: HealthCheckResult, via route: ProbeRoute) -> [Action] {
        guard histories.indices.contains(target) else { return [] }
        let from = current
        recordHealth(target: target, result)
        return translate(failover.resultReceived(target: target, result: result), from: from, route: route)
    }

    /// A statement or checkout on the current target failed. A lost connection asks for a check now (one broken
    /// connection does not condemn a server); 25006 means demoted.
    mutating func statementFailed(_ failure: StatementFailure, at: Date) -> [Action] {
        let from = current
        switch failure {
        case .readOnly:
            return translate(failover.readOnlyErrorObserved(at: at), from: from)
        case .connectionLost:
            let checkNow: [Action] = configuration.hasHealthMonitor ? [.probe([current], via: .monitor)] : []
            return Self.withoutRepeatedProbes(
                checkNow + translate(failover.connectionFailureObserved(at: at), from: from))
        }
    }

    /// The delay of a `.scheduleRetry` has passed.
    mutating func retryDelayElapsed(at: Date) -> [Action] {
        let from = current
        return translate(failover.retryDelayElapsed(at: at), from: from)
    }

    /// The shell applied a `.switchTarget` (new checkouts go to the new target): the switch's duration is known,
    /// and the new target's next check sets the health state afresh.
    mutating func switchApplied(at: Date) {
        failover.switchCompleted(at: at)
        lastHealthy = nil
    }

    /// The pool found that the server restarted (its start time changed) and opened generation `generation`.
    mutating func serverRestarted(generation: Int, at: Date) -> [Action] {
        [
            emit(
                .serverRestarted,
                "\(configuration.targetURLs[current]) restarted (its start time changed): every connection opened "
                    + "before was replaced (pool generation \(generation)).", at: at)
        ]
    }

    // MARK: - The failover machine's answers

    /// What the failover machine's actions mean for the shell. `from` is the current target before the step.
    /// A switch or a refusal while a manual request is pending settles it (`ManagerStateMachine+Manual.swift`).
    mutating func translate(
        _ decided: [FailoverStateMachine.Action], from: Int, route: ProbeRoute? = nil
    ) -> [Action] {
        var actions: [Action] = []
        for action in decided {
            switch action {
            case .probe(let indexes):
                actions.append(.probe(indexes, via: route ?? automaticRoute))
            case .scheduleRetry(let delay):
                actions.append(.scheduleRetry(after: delay))
            case .switchTo(let index, let reason):
                let message =
                    "Failed over from \(configuration.targetURLs[from]) to \(configuration.targetURLs[index]) "
                    + "(\(reason.rawValue))."
                actions.append(.switchTarget(to: index, event: Event(kind: .failover, message: message)))
                settleManual(MonitorCommandOutcome(succeeded: true, message: message))
            case .refuse(let reason):
                actions.append(emit(.failoverRefused, reason))
                settleManual(MonitorCommandOutcome(succeeded: false, message: reason))
            case .stayPut(let reason):
                actions.append(emit(.failoverRefused, reason))
            case .evictAndRecheck:
                actions.append(.evictConnections)
                actions.append(
                    emit(
                        .info,
                        "\(configuration.targetURLs[from]) is read-only now; its connections are being replaced."))
                if configuration.hasHealthMonitor {
                    actions.append(.probe(Array(configuration.targetURLs.indices), via: .monitor))
                }
            }
        }
        return Self.withoutRepeatedProbes(actions)
    }

    /// One probe of the same targets per step is enough (a demotion re-checks every target for the eviction and
    /// for the search alike).
    static func withoutRepeatedProbes(_ actions: [Action]) -> [Action] {
        var seen: [Action] = []
        return actions.filter { action in
            guard case .probe = action else { return true }
            defer { seen.append(action) }
            return !seen.contains(action)
        }
    }

    // MARK: - Events

    /// How loud an event of `kind` is in the log: trouble is a warning, the rest information.
    static func level(of kind: PoolEvent.Kind) -> Logger.Level {
        switch kind {
        case .connectFailed, .poolTimeout, .healthCheckFailed, .leakDetected, .failoverRefused, .serverRestarted:
            return .warning
        case .healthRecovered, .failover, .leakReturned, .leakTerminated, .suspended, .resumed, .evicted, .info:
            return .info
        }
    }

    func emit(
        _ kind: PoolEvent.Kind, _ message: String, at: Date? = nil, isLogged: Bool = true, actor: ControlPeer? = nil
    ) -> Action {
        .emit(Event(kind: kind, message: message, at: at, isLogged: isLogged, actor: actor), Self.level(of: kind))
    }

    static func millis(_ seconds: Double) -> String {
        String(format: "%.1f ms", seconds * 1000)
    }
}
