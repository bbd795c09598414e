import Dispatch
import Foundation
import Logging
import Synchronization

/// A PostgreSQL connection manager: a pool with SQLAlchemy's knobs, health monitoring with history,
/// leak detection that remembers where each connection was checked out, and failover across targets.
///
/// Create one per database (cluster) and share it. Every method is thread-safe. Blocking methods
/// (`withConnection`, `withSession`, `session()`) block the calling thread; their `async` overloads
/// suspend the task: statements are sent from it and their replies awaited in one epoll reactor per process
/// (`SocketReactor`), and what blocks (opens, pings, a rollback at checkin) runs on threads of its own. Call ``shutdown()`` when done: it stops
/// the timers and closes the connections.
public final class ConnectionManager: MonitorSource, Sendable {
    /// The validated configuration in effect.
    public let configuration: ConnectionPoolConfig
    /// When the manager was created.
    public let startedAt: Date
    let logger: Logger
    /// Every password of the configuration, scrubbed from events, logs, outcomes and snapshots.
    let secrets: SecretScrubber
    let factory: PostgresConnectionFactory
    let pool: ConnectionPool<PostgresConnectionFactory>
    /// Serializes the manager's own bookkeeping that does I/O (leak scans, failover switches).
    let controlQueue = DispatchQueue(label: "pooltop.manager.control")
    let state: PoolLock<ManagerState>
    let checkoutCounter = Atomic<Int>(0)
    /// Non-zero while some connection was terminated as a leak and not yet given back (fast path check).
    let terminatedCount = Atomic<Int>(0)
    let probes: HealthProbe
    let health: HealthMonitor?
    // Safety: Dispatch sources are thread-safe objects; the reference itself never changes.
    nonisolated(unsafe) let scanTimer: DispatchSourceTimer
    let metricsReporter: MetricsReporter
    /// Forwards the health monitor's results to this manager (the monitor exists before `self` does).
    let healthSink = HealthSink()
    /// The control endpoint, when `controlSocket` is not `.off` (started last in `init`, stopped first in `shutdown`).
    let control = PoolLock<ControlEndpoint?>(nil)
    /// Repeated warnings (a failed checkout per call during an outage) are logged once per 10 s with a count.
    let logThrottle = PoolLock(LogThrottle(interval: .seconds(10)))
    private static let controlQueueKey = DispatchSpecificKey<Bool>()

    /// Creates a manager and starts its health monitor and leak scanner (no connection is opened until
    /// the first checkout unless `prefill` is set).
    /// - Parameter logger: where warnings (leaks with their stacks, failovers, connect failures) go.
    /// - Throws: ``ConfigurationError`` for an invalid configuration, naming the setting and the value, and
    ///   ``ConfigurationError/controlEndpointFailed(setting:path:reason:)`` when the control endpoint cannot start.
    public init(
        configuration: ConnectionPoolConfig, logger: Logger = Logger(label: "pooltop.connection-manager")
    ) throws(ConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        secrets = configuration.secretScrubber
        startedAt = Date()
        let maintenance = min(configuration.connectTimeout, configuration.queryTimeout ?? configuration.connectTimeout)
        factory = PostgresConnectionFactory(
            targets: configuration.targets, applicationName: configuration.effectiveApplicationName,
            maintenanceTimeout: maintenance, sessionReset: configuration.sessionReset)
        pool = ConnectionPool(
            configuration: PoolConfiguration(
                poolSize: configuration.poolSize, maxOverflow: configuration.maxOverflow,
                poolTimeout: configuration.poolTimeout, recycle: configuration.poolRecycle,
                prePingAfterIdle: configuration.poolPrePing ? configuration.prePingAfterIdle : nil,
                connectTimeout: configuration.connectTimeout, keepalive: configuration.keepalive,
                minIdle: configuration.minIdle, overflowIdleTimeout: configuration.overflowIdleTimeout),
            factory: factory, label: "pooltop.pool")
        state = PoolLock(ManagerState(configuration: configuration, startedAt: startedAt))
        probes = HealthProbe(
            targets: configuration.targets, connectTimeout: configuration.connectTimeout,
            applicationName: configuration.effectiveApplicationName + " (health)",
            keepsConnections: configuration.healthCheckEnabled,
            freshConnectionEvery: HealthProbe.freshConnectionEvery(checkInterval: configuration.healthCheckInterval))
        metricsReporter = MetricsReporter(label: "pooltop.pool")
        if configuration.healthCheckEnabled {
            let probes = self.probes
            let targets = configuration.targets.enumerated().map {
                HealthTarget(index: $0.offset, url: $0.element.masked)
            }
            health = HealthMonitor(
                targets: targets, interval: configuration.healthCheckInterval,
                otherTargetsEvery: configuration.failoverURLs.isEmpty ? 0 : 5,
                // The manager keeps the histories (manual probes land there too); the monitor's own ring is unused.
                historyCapacity: 1,
                check: { target in probes.check(target.index) },
                onResult: { [healthSink] target, result in healthSink.deliver(target, result) })
        } else {
            health = nil
        }
        scanTimer = DispatchSource.makeTimerSource(queue: controlQueue)
        controlQueue.setSpecific(key: Self.controlQueueKey, value: true)
        wireUp()
        if configuration.prefill {
            do { try pool.prefill() } catch { record(.connectFailed, "Prefill failed: \(error)") }
        }
        try startControlEndpoint()
    }

    /// The seed's `create_connection_manager`: a manager for `databaseURL` with the common knobs.
    /// `leakThreshold` is how long a checkout may be held before it is reported as a leak (validated like
    /// `DB_LEAK_THRESHOLD`).
    public static func create(
        databaseURL: String, poolSize: Int = 10, maxOverflow: Int = 20, leakDetection: Bool = true,
        leakThreshold: Duration = .seconds(300), healthMonitoring: Bool = true, failoverURLs: [String] = [],
        logger: Logger = Logger(label: "pooltop.connection-manager")
    ) throws(ConfigurationError) -> ConnectionManager {
        var config = ConnectionPoolConfig(databaseURL: try DatabaseURL(databaseURL))
        config.poolSize = poolSize
        config.maxOverflow = maxOverflow
        config.leakDetectionEnabled = leakDetection
        config.leakThreshold = leakThreshold
        config.healthCheckEnabled = healthMonitoring
        for url in failoverURLs {
            config.failoverURLs.append(try DatabaseURL(url, setting: "failover_urls"))
        }
        config.failoverEnabled = !config.failoverURLs.isEmpty
        return try ConnectionManager(configuration: config, logger: logger)
    }

    /// A manager configured from `DATABASE_URL`, `DATABASE_FAILOVER_URLS` and the `DB_*` variables.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = Logger(label: "pooltop.connection-manager")
    ) throws(ConfigurationError) -> ConnectionManager {
        try ConnectionManager(configuration: ConnectionPoolConfig.fromEnvironment(environment), logger: logger)
    }

    /// An executor for tasks that spend their time on the database: the thread that waits for every task's
    /// replies (one per process) runs them too, so a statement's reply resumes its task where it arrived, with no
    /// hop to the cooperative pool. Opt in per task: `group.addTask(executorPreference: manager.taskExecutor)` or
    /// `withTaskExecutorPreference(manager.taskExecutor) { … }`. One thread for every task that prefers it: keep
    /// CPU-heavy work and anything that blocks (the blocking `withConnection`, `execute`, file I/O) off it, or
    /// every such task and every task's statement waits behind it. With the server on the same machine the global
    /// executor is faster: tasks there give their CPU to the server right after sending, which this thread must
    /// not do for every task (BENCHMARKS.md, seventh session). Swift's global executor where the platform has no
    /// epoll.
    public var taskExecutor: any TaskExecutor {
        SocketReactor.shared ?? globalConcurrentExecutor
    }

    /// Stops the health monitor and the leak scanner, fails waiting checkouts, closes idle connections
    /// now and lent ones when they come back. Idempotent; no timer or thread is left running.
    public func shutdown() {
        let wasRunning = state.withLock { s in
            defer { s.isShutDown = true }
            return !s.isShutDown
        }
        guard wasRunning else { return }
        control.withLock { endpoint in
            defer { endpoint = nil }
            return endpoint
        }?.stop()
        scanTimer.cancel()
        health?.stop()
        healthSink.set(nil)
        // Let a scan in progress finish (unless this is that scan dropping the last reference).
        if DispatchQueue.getSpecific(key: Self.controlQueueKey) != true { controlQueue.sync {} }
        pool.shutdown()
        probes.closeAll()
    }

    deinit {
        shutdown()
    }

    // MARK: Pool administration

    /// Counters and gauges of the pool right now (see ``PoolMetrics``); `leaked_connections` included.
    public func metrics() -> PoolMetrics {
        var m = pool.metrics()
        m.leakedConnections = state.withLock { $0.ledger.leakCount }
        return m
    }

    /// Checkouts wait (their deadline still runs) until ``resume()``: HikariCP's `suspendPool`, PgBouncer's PAUSE.
    public func suspend() {
        suspend(by: nil)
    }

    /// Lends connections again, serving waiters in arrival order.
    public func resume() {
        resume(by: nil)
    }

    /// Soft eviction: idle connections are closed now, lent ones when they come back.
    public func evictIdle() {
        evictIdle(by: nil)
    }

    /// ``suspend()`` on behalf of `actor` (a control-socket peer), who is named in the event.
    func suspend(by actor: ControlPeer?) {
        pool.suspend()
        record(
            .suspended, "The pool was suspended\(Self.by(actor)): checkouts wait until it is resumed.", actor: actor)
    }

    /// ``resume()`` on behalf of `actor`.
    func resume(by actor: ControlPeer?) {
        pool.resume()
        record(.resumed, "The pool was resumed\(Self.by(actor)).", actor: actor)
    }

    /// ``evictIdle()`` on behalf of `actor`.
    func evictIdle(by actor: ControlPeer?) {
        let before = pool.metrics().checkedIn
        pool.evictIdle()
        let what = "\(before) idle connection\(before == 1 ? "" : "s")"
        record(
            .evicted,
            actor == nil
                ? "Evicted \(what); lent ones close when returned."
                : "\(what) evicted\(Self.by(actor)); lent ones close when returned.", actor: actor)
    }

    /// ` by uid 1000 pid 4242 (pooltop)`, or nothing without an actor.
    static func by(_ actor: ControlPeer?) -> String {
        actor.map { " by \($0)" } ?? ""
    }

    /// Adds callbacks for pool events (the seed's `onConnect`, `onCheckout`, `onCheckin`, `onPoolConnect`).
    /// They are never called while the pool's lock is held. Returns a token for ``removeListener(_:)``.
    @discardableResult
    public func addListener(_ listener: PoolListener<PostgresConnection>) -> PoolListenerToken {
        pool.addListener(listener)
    }

    /// Removes callbacks added with ``addListener(_:)``.
    public func removeListener(_ token: PoolListenerToken) {
        pool.removeListener(token)
    }

    // MARK: Events

    /// Appends to the event log (and logs it). `actor`: the control-socket peer who caused it (its uid, pid
    /// and program go into the log line's metadata; the message names it too). With a `throttleKey`, lines of that
    /// key are logged at most once per 10 s, the repeats counted (`LogThrottle`).
    func record(
        _ kind: PoolEvent.Kind, _ message: String, at: Date = Date(), log: Bool = true, actor: ControlPeer? = nil,
        throttleKey: String? = nil, level: Logger.Level? = nil
    ) {
        let message = secrets.scrub(message)
        state.withLock { $0.appendEvent(PoolEvent(at: at, kind: kind, message: message)) }
        guard log else { return }
        var line = message
        if let throttleKey {
            let now = MonotonicClock.now
            guard let admitted = logThrottle.withLock({ $0.admit(message, key: throttleKey, now: now) }) else { return }
            line = admitted
        }
        let metadata: Logger.Metadata? = actor.map {
            ["peer_uid": "\($0.uid)", "peer_pid": "\($0.pid)", "peer_program": "\($0.program)"]
        }
        logger.log(level: level ?? ManagerStateMachine.level(of: kind), "\(line)", metadata: metadata)
    }

    /// Records an event the machine decided on, at the level it chose.
    func record(_ event: ManagerStateMachine.Event, level: Logger.Level) {
        record(
            event.kind, event.message, at: event.at ?? Date(), log: event.isLogged, actor: event.actor, level: level)
    }
}

/// A late-bound, thread-safe callback slot.
final class HealthSink: Sendable {
    typealias Handler = @Sendable (HealthTarget, HealthCheckResult) -> Void
    private let handler = PoolLock<Handler?>(nil)

    func set(_ newHandler: Handler?) {
        handler.withLock { $0 = newHandler }
    }

    func deliver(_ target: HealthTarget, _ result: HealthCheckResult) {
        handler.withLock { $0 }?(target, result)
    }
}
