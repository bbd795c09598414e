import Dispatch
import Foundation

/// How often the manager samples utilization, scans for leaks and publishes swift-metrics.
let scanInterval: Duration = .seconds(1)

extension ConnectionManager {
    /// Connects the timers and callbacks once every stored property exists.
    func wireUp() {
        // The pool finds a restart (the server's start time changed on a new connection); say so in the event log.
        // A hook, not a listener: listeners cost every checkout a lock.
        pool.serverRestartHandler.withLock {
            $0 = { [weak self] generation in
                guard let self else { return }
                self.run(self.step { $0.serverRestarted(generation: generation, at: Date()) })
            }
        }
        healthSink.set { [weak self] target, result in self?.healthResultArrived(target: target.index, result: result) }
        health?.start()
        scanTimer.schedule(
            deadline: .now() + scanInterval.dispatch, repeating: scanInterval.dispatch, leeway: .milliseconds(50))
        scanTimer.setEventHandler { [weak self] in self?.scan() }
        scanTimer.resume()
    }

    // MARK: The shell around ManagerStateMachine

    /// Steps the machine under the lock and mirrors its count of connections ended as leaks into the atomic the
    /// checkout path reads (under the lock, so two steps never store their counts out of order); the caller
    /// performs what it returns after the lock is released.
    func step<T>(_ body: (inout ManagerStateMachine) -> T) -> T {
        state.withLock { s in
            let value = body(&s.machine)
            terminatedCount.store(s.machine.terminatedCount, ordering: .relaxed)
            return value
        }
    }

    /// Performs the machine's actions in order, outside the lock.
    /// - Parameter actor: the control-socket peer on whose behalf they run (for a termination's event).
    /// - Returns: the `.reply` among them, for the person who asked.
    @discardableResult
    func run(_ actions: [ManagerStateMachine.Action], actor: ControlPeer? = nil) -> MonitorCommandOutcome? {
        var reply: MonitorCommandOutcome?
        for action in actions {
            switch action {
            case .probe(let indexes, .monitor):
                health?.probe(indexes)
            case .probe(let indexes, .controlQueue):
                controlQueue.async { [weak self] in
                    guard let self, !self.state.withLock({ $0.isShutDown }) else { return }
                    self.probeNow(indexes, via: .controlQueue)
                }
            case .probe(let indexes, .callingThread):
                if let settled = probeNow(indexes, via: .callingThread) { reply = settled }
            case .scheduleRetry(let delay):
                controlQueue.asyncAfter(deadline: .now() + delay.dispatch) { [weak self] in
                    guard let self, !self.state.withLock({ $0.isShutDown }) else { return }
                    self.run(self.step { $0.retryDelayElapsed(at: Date()) })
                }
            case .switchTarget(let index, let event):
                // New opens go to the new target first; then the generation bump closes the old ones.
                factory.retarget(to: index)
                pool.targetChanged()
                health?.setCurrentTarget(index)
                step { $0.switchApplied(at: Date()) }
                record(event, level: ManagerStateMachine.level(of: event.kind))
            case .evictConnections:
                pool.invalidateAll()
            case .emit(let event, let level):
                record(event, level: level)
            case .logLeakStack(let message, let stack):
                // Symbolication takes milliseconds (seconds on a loaded machine): log the stack off this queue so
                // the scan (server view, returned leaks, metrics) is never held up by it.
                let logger = self.logger
                DispatchQueue.global(qos: .utility).async {
                    let frames = stack.map { Self.describe($0.symbolicated().prefix(12)) } ?? "    (no stack captured)"
                    logger.warning("\(message) Checked out at:\n\(frames)")
                }
            case .fetchActivity(let pids, let readsOverview):
                // One query per scan shows the whole server (and what leaked backends on it do); only leaks left
                // on another target by a failover need a query of their own.
                let known = readsOverview ? refreshServerOverview(leakedPIDs: pids) : [:]
                if !pids.isEmpty { refreshServerActivity(pids: pids.filter { known[$0] == nil }, known: known) }
            case .terminateBackend(let connectionID, let pid, let index):
                let result = terminateOnServer(pid: pid, target: index)
                let more = step {
                    $0.terminationFinished(
                        connectionID: connectionID, backendPID: pid, result: result, actor: actor, at: Date())
                }
                if let settled = run(more, actor: actor) { reply = settled }
            case .reply(let outcome):
                reply = outcome
            }
        }
        return reply
    }

    // MARK: Health and failover

    /// Runs one health check of the current target now, on this thread, and records it.
    @discardableResult
    public func checkHealthNow() -> HealthCheckResult {
        let index = currentTargetIndex
        let result = probes.check(index)
        healthResultArrived(target: index, result: result)
        return result
    }

    var currentTargetIndex: Int { state.withLock { $0.machine.current } }

    func healthResultArrived(target: Int, result: HealthCheckResult) {
        run(step { $0.healthChecked(target: target, result: result) })
    }

    /// A statement or checkout failed: a connection-level error asks for a check now; 25006 means demoted.
    func observe(_ error: any Error) {
        guard let error = error as? PostgresError, let failure = ManagerStateMachine.StatementFailure(error) else {
            return
        }
        run(step { $0.statementFailed(failure, at: Date()) })
    }

    /// Probes `indexes` on this thread and feeds the answers to the machine.
    /// - Returns: a `.reply` that came of it.
    @discardableResult
    private func probeNow(_ indexes: [Int], via route: ManagerStateMachine.ProbeRoute) -> MonitorCommandOutcome? {
        var reply: MonitorCommandOutcome?
        for index in indexes {
            let result = probes.check(index)
            if let settled = run(step { $0.probeAnswered(target: index, result: result, via: route) }) {
                reply = settled
            }
        }
        return reply
    }

    /// Fails over by hand to the target at `index` (0 = `databaseURL`), or the next suitable one when `nil`,
    /// after probing it: refused (and why) when it is down, read-only, unknown or already current.
    public func failover(to index: Int?) -> MonitorCommandOutcome {
        let (ticket, actions) = step { $0.manualFailoverRequested(to: index, at: Date()) }
        if let reply = run(actions) { return reply }
        // The answer may have come on the monitor's thread, before this thread's own probe: the machine kept it.
        return run(step { $0.manualFailoverFinished(ticket: ticket) })
            ?? MonitorCommandOutcome(succeeded: false, message: "The failover did not settle; see the event log.")
    }

    // MARK: Leak scanning

    /// Once per `scanInterval` on the control queue: utilization sample, leak ledger, server view, metrics.
    func scan() {
        // Keepalive pings, overflow idle lifetime, minimum idle, the breaker's trial: their I/O runs on the
        // pool's queue, so the scan goes on at once.
        pool.runMaintenance()
        for line in logThrottle.withLock({ $0.flush(now: MonotonicClock.now) }) { logger.warning("\(line)") }
        let now = Date()
        var metrics = pool.metrics()
        let current = state.withLock { s in
            s.appendUtilization(metrics.utilization)
            s.recentWindow.record(Self.sample(metrics, s.histories[s.machine.current], now))
            return s.machine.current
        }
        let records =
            configuration.leakDetectionEnabled || terminatedCount.load(ordering: .relaxed) > 0
            ? pool.checkedOutConnections() : []
        // After a failover, connections to the old target stay lent until given back: label each with its own.
        let infos: [ConnectionInfo] =
            configuration.leakDetectionEnabled
            ? records.map { record -> ConnectionInfo in
                let index = factory.targetIndex(ofBackend: record.backendPID) ?? current
                return record.connectionInfo(target: configuration.targets[index].masked)
            } : []
        let threshold = configuration.leakThreshold
        let held = Set(records.map(\.connectionID))
        run(
            step { machine in
                machine.scanTicked(checkedOut: infos, stillCheckedOut: held, threshold: threshold, now: now)
            })
        metrics.leakedConnections = state.withLock { $0.ledger.leakCount }
        metricsReporter.report(metrics)
    }

    /// What the server thinks the leaked backends are doing, fetched on the monitor's connection to the
    /// server each backend lives on (after a failover, leaks may still sit on the old target).
    private func refreshServerActivity(pids: [Int32], known: [Int32: ServerActivity]) {
        let current = currentTargetIndex
        let byTarget = Dictionary(grouping: pids) { factory.targetIndex(ofBackend: $0) ?? current }
        var rows: [ServerActivity] = Array(known.values)
        for (index, pids) in byTarget.sorted(by: { $0.key < $1.key }) {
            let fetched: [ServerActivity]? = try? probes.withConnection(index) { connection in
                let result = try connection.execute(
                    ServerActivityQuery.sql, [.text(ServerActivityQuery.parameter(pids: pids))],
                    timeout: configuration.connectTimeout)
                return try result.rows.compactMap { row in
                    ServerActivityQuery.activity(
                        row: try (0..<ServerActivityQuery.columnCount).map { try row.string($0) })
                }
            }
            rows += fetched ?? []
        }
        let byPID = Dictionary(rows.map { ($0.pid, $0) }) { first, _ in first }
        step { $0.activityFetched(byPID) }
    }

    /// Ends a leaked connection on the server (`pg_terminate_backend`) and invalidates it in the pool; its
    /// holder gets ``SessionError/terminatedAsLeak(connectionID:)`` on its next statement. Nothing else is touched.
    public func terminate(leak connectionID: Int) -> MonitorCommandOutcome {
        terminate(leak: connectionID, by: nil)
    }

    /// ``terminate(leak:)`` on behalf of `actor` (a control-socket peer), who is named in the event.
    func terminate(leak connectionID: Int, by actor: ControlPeer?) -> MonitorCommandOutcome {
        let record = pool.checkedOutConnections().first { $0.connectionID == connectionID }
        // The backend lives on the server the connection was opened to, which a failover may have left behind.
        let target = record.flatMap { factory.targetIndex(ofBackend: $0.backendPID) }
        let actions = step {
            $0.terminationRequested(connectionID: connectionID, backendPID: record?.backendPID, target: target)
        }
        return run(actions, actor: actor)
            ?? MonitorCommandOutcome(succeeded: false, message: "Connection \(connectionID) was not ended.")
    }

    /// `pg_terminate_backend(pid)` on the monitoring connection to `target`.
    private func terminateOnServer(pid: Int32, target: Int) -> ManagerStateMachine.TerminationResult {
        do {
            let ended = try probes.withConnection(target) { connection in
                let result = try connection.execute(
                    "SELECT pg_terminate_backend($1::int)", [.int(Int(pid))], timeout: configuration.connectTimeout)
                return try result[row: 0].bool(0) ?? false
            }
            return ended ? .ended : .alreadyGone
        } catch {
            return .failed("\(error)")
        }
    }

    static func describe(_ frames: ArraySlice<StackFrame>) -> String {
        frames.map { frame -> String in
            let location = frame.file.map { file in " at \(file):\(frame.line ?? 0)" } ?? ""
            return "    \(frame.symbol)\(location)"
        }.joined(separator: "\n")
    }

}

extension Duration {
    var dispatch: DispatchTimeInterval {
        .nanoseconds(Int(clamping: components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000))
    }
}
