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
                self.record(
                    .serverRestarted,
                    "\(self.factory.currentTarget.masked) restarted (its start time changed): every connection opened "
                        + "before was replaced (pool generation \(generation)).")
            }
        }
        healthSink.set { [weak self] target, result in self?.healthResultArrived(target: target.index, result: result) }
        health?.start()
        scanTimer.schedule(
            deadline: .now() + scanInterval.dispatch, repeating: scanInterval.dispatch, leeway: .milliseconds(50))
        scanTimer.setEventHandler { [weak self] in self?.scan() }
        scanTimer.resume()
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

    var currentTargetIndex: Int { state.withLock { $0.failover.current } }

    func healthResultArrived(target: Int, result: HealthCheckResult) {
        let (actions, transition) = state.withLock { s -> ([FailoverStateMachine.Action], Bool?) in
            s.recordCheck(target: target, result: result)
            var transition: Bool?
            if target == s.failover.current {
                if s.lastHealthy != result.healthy { transition = result.healthy }
                s.lastHealthy = result.healthy
            }
            return (s.failover.resultReceived(target: target, result: result), transition)
        }
        if transition == false {
            record(
                .healthCheckFailed, "Health check of \(result.target) failed: \(result.error ?? "no answer").",
                at: result.checkedAt)
        } else if transition == true, result.checkedAt > startedAt.addingTimeInterval(0.001),
            state.withLock({ $0.checkCount(target) }) > 1
        {
            record(
                .healthRecovered, "\(result.target) answers again (\(Self.millis(result.responseTime))).",
                at: result.checkedAt)
        }
        runFailover(actions, manual: false)
    }

    /// A statement or checkout failed: a connection-level error asks for a check now; 25006 means demoted.
    func observe(_ error: any Error) {
        guard let error = error as? PostgresError else { return }
        if error.isReadOnlyTransaction {
            let actions = state.withLock { $0.failover.readOnlyErrorObserved(at: Date()) }
            runFailover(actions, manual: false)
        } else if error.isConnectionLevel {
            health?.checkNow()
            let actions = state.withLock { $0.failover.connectionFailureObserved(at: Date()) }
            runFailover(actions, manual: false)
        }
    }

    /// Carries out the failover machine's decisions, outside the lock.
    /// - Returns: the outcome of a switch or refusal among them, for a person who asked.
    @discardableResult
    func runFailover(_ actions: [FailoverStateMachine.Action], manual: Bool) -> MonitorCommandOutcome? {
        var outcome: MonitorCommandOutcome?
        for action in actions {
            switch action {
            case .probe(let indexes):
                if manual {
                    // A person is waiting: probe now, on this thread, and feed the answers back.
                    if let settled = probeNow(indexes, manual: true) { outcome = settled }
                } else if let health {
                    health.probe(indexes)
                } else {
                    // No monitor: probe on the control queue, never on the thread whose checkout or query
                    // just failed (against a stopped server that would add a whole connect timeout to its error).
                    controlQueue.async { [weak self] in
                        guard let self, !self.state.withLock({ $0.isShutDown }) else { return }
                        self.probeNow(indexes, manual: false)
                    }
                }
            case .scheduleRetry(let delay):
                controlQueue.asyncAfter(deadline: .now() + delay.dispatch) { [weak self] in
                    guard let self, !self.state.withLock({ $0.isShutDown }) else { return }
                    let next = self.state.withLock { $0.failover.retryDelayElapsed(at: Date()) }
                    self.runFailover(next, manual: false)
                }
            case .switchTo(let index, let reason):
                // The machine refuses automatic switches itself when DB_FAILOVER_ENABLED=false.
                outcome = switchTarget(to: index, reason: reason)
            case .refuse(let reason):
                record(.failoverRefused, reason)
                outcome = MonitorCommandOutcome(succeeded: false, message: reason)
            case .stayPut(let reason):
                record(.failoverRefused, reason)
            case .evictAndRecheck:
                pool.invalidateAll()
                record(.info, "\(factory.currentTarget.masked) is read-only now; its connections are being replaced.")
                health?.probe(Array(configuration.targets.indices))
            }
        }
        return outcome
    }

    /// Probes `indexes` on this thread and feeds the answers to the failover machine.
    @discardableResult
    private func probeNow(_ indexes: [Int], manual: Bool) -> MonitorCommandOutcome? {
        var outcome: MonitorCommandOutcome?
        for index in indexes {
            let result = probes.check(index)
            let more = state.withLock { s in
                s.recordCheck(target: index, result: result)
                return s.failover.resultReceived(target: index, result: result)
            }
            if let settled = runFailover(more, manual: manual) { outcome = settled }
        }
        return outcome
    }

    private func switchTarget(to index: Int, reason: FailoverEvent.Reason) -> MonitorCommandOutcome {
        let from = factory.currentTarget.masked
        let to = configuration.targets[index]
        // New opens go to the new target first; then the generation bump closes the old ones.
        factory.retarget(to: index)
        pool.targetChanged()
        health?.setCurrentTarget(index)
        state.withLock {
            $0.failover.switchCompleted(at: Date())
            $0.lastHealthy = nil
        }
        let message = "Failed over from \(from) to \(to.masked) (\(reason.rawValue))."
        record(.failover, message)
        return MonitorCommandOutcome(succeeded: true, message: message)
    }

    /// Fails over by hand to the target at `index` (0 = `databaseURL`), or the next suitable one when `nil`,
    /// after probing it: refused (and why) when it is down, read-only, unknown or already current.
    public func failover(to index: Int?) -> MonitorCommandOutcome {
        let requestedAt = Date()
        let actions = state.withLock { $0.failover.manualFailoverRequested(to: index, at: requestedAt) }
        if let outcome = runFailover(actions, manual: true) { return outcome }
        // A health check that started after the request may have settled it on the monitor's thread, before
        // this thread's own probe came back: report what it decided.
        let settled = state.withLock { s in
            s.failover.stats.history.last { $0.reason == .manual && $0.at >= requestedAt }
        }
        if let settled {
            if let refusal = settled.refusal { return MonitorCommandOutcome(succeeded: false, message: refusal) }
            return MonitorCommandOutcome(
                succeeded: true, message: "Failed over from \(settled.from) to \(settled.to) (manual).")
        }
        return MonitorCommandOutcome(succeeded: false, message: "The failover did not settle; see the event log.")
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
        let current = currentTargetIndex
        // After a failover, connections to the old target stay lent until given back: label each with its own.
        let infos: [ConnectionInfo] =
            configuration.leakDetectionEnabled
            ? pool.checkedOutConnections().map { record -> ConnectionInfo in
                let index = factory.targetIndex(ofBackend: record.backendPID) ?? current
                return record.connectionInfo(target: configuration.targets[index].masked)
            } : []
        let threshold = configuration.leakThreshold
        let held = Set(infos.map(\.connectionID))
        let (changes, pids, terminated) = state.withLock { s in
            s.appendUtilization(metrics.utilization)
            s.recentWindow.record(Self.sample(metrics, s.histories[s.failover.current], now))
            let changes = s.ledger.update(checkedOut: infos, threshold: threshold, now: now)
            s.terminated.formIntersection(held)
            return (changes, s.ledger.leakedBackendPIDs, s.terminated.count)
        }
        terminatedCount.store(terminated, ordering: .relaxed)
        for leak in changes.detected {
            let message =
                "Connection \(leak.info.connectionID) (backend \(leak.info.backendPID), thread "
                + "\(leak.info.threadName)) has been held for \(Int(leak.heldFor)) s, over the "
                + "\(Int(threshold.timeInterval)) s leak threshold."
            record(.leakDetected, message, at: now, log: false)
            // Symbolication takes milliseconds (seconds on a loaded machine): log the stack off this queue so the
            // scan (server view, returned leaks, metrics) is never held up by it.
            let logger = self.logger
            DispatchQueue.global(qos: .utility).async {
                let stack =
                    leak.info.stack.map { Self.describe($0.symbolicated().prefix(12)) } ?? "    (no stack captured)"
                logger.warning("\(message) Checked out at:\n\(stack)")
            }
        }
        for returned in changes.returned {
            record(
                .leakReturned,
                "Leaked connection \(returned.info.connectionID) came back after \(Int(returned.heldFor)) s.", at: now)
        }
        // One query per scan shows the whole server (and what leaked backends on it do); only leaks left on another
        // target by a failover need a query of their own.
        let known = health != nil ? refreshServerOverview(leakedPIDs: pids) : [:]
        let others = pids.filter { known[$0] == nil }
        if !pids.isEmpty { refreshServerActivity(pids: others, known: known) }
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
        state.withLock { $0.ledger.updateServerActivity(byPID) }
    }

    /// Ends a leaked connection on the server (`pg_terminate_backend`) and invalidates it in the pool; its
    /// holder gets ``SessionError/terminatedAsLeak(connectionID:)`` on its next statement. Nothing else is touched.
    public func terminate(leak connectionID: Int) -> MonitorCommandOutcome {
        terminate(leak: connectionID, by: nil)
    }

    /// ``terminate(leak:)`` on behalf of `actor` (a control-socket peer), who is named in the event.
    func terminate(leak connectionID: Int, by actor: ControlPeer?) -> MonitorCommandOutcome {
        guard let record = pool.checkedOutConnections().first(where: { $0.connectionID == connectionID }) else {
            return MonitorCommandOutcome(
                succeeded: false, message: "Connection \(connectionID) is not checked out any more; nothing to end.")
        }
        // The backend lives on the server the connection was opened to, which a failover may have left behind.
        guard let index = factory.targetIndex(ofBackend: record.backendPID) else {
            return MonitorCommandOutcome(
                succeeded: false,
                message: "Cannot tell which server backend \(record.backendPID) of connection \(connectionID) is on "
                    + "(two servers use that pid); nothing was ended.")
        }
        terminatedCount.store(
            state.withLock { s in
                s.terminated.insert(connectionID)
                return s.terminated.count
            }, ordering: .relaxed)
        let ended: Bool
        do {
            ended = try probes.withConnection(index) { connection in
                let result = try connection.execute(
                    "SELECT pg_terminate_backend($1::int)", [.int(Int(record.backendPID))],
                    timeout: configuration.connectTimeout)
                return try result[row: 0].bool(0) ?? false
            }
        } catch {
            terminatedCount.store(
                state.withLock { s in
                    s.terminated.remove(connectionID)
                    return s.terminated.count
                }, ordering: .relaxed)
            return MonitorCommandOutcome(
                succeeded: false, message: "Could not end connection \(connectionID) on the server: \(error)")
        }
        state.withLock { _ = $0.ledger.markTerminated(connectionID, now: Date()) }
        let message =
            ended
            ? (actor == nil
                ? "Ended connection \(connectionID) (backend \(record.backendPID)) on the server; its holder gets an error on next use."
                : "Connection \(connectionID) (backend \(record.backendPID)) was ended on the server\(Self.by(actor)); its holder gets an error on next use.")
            : "Backend \(record.backendPID) of connection \(connectionID) was already gone\(actor == nil ? "" : " when\(Self.by(actor)) asked to end it"); the pool will discard it when it is returned."
        self.record(.leakTerminated, message, actor: actor)
        return MonitorCommandOutcome(succeeded: true, message: message)
    }

    static func describe(_ frames: ArraySlice<StackFrame>) -> String {
        frames.map { frame -> String in
            let location = frame.file.map { file in " at \(file):\(frame.line ?? 0)" } ?? ""
            return "    \(frame.symbol)\(location)"
        }.joined(separator: "\n")
    }

    static func millis(_ seconds: Double) -> String {
        String(format: "%.1f ms", seconds * 1000)
    }
}

extension Duration {
    var dispatch: DispatchTimeInterval {
        .nanoseconds(Int(clamping: components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000))
    }
}
