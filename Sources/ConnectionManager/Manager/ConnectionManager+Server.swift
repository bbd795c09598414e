import Foundation

extension ConnectionManager {
    /// Deadline of the server-view query and of a cancel/terminate: the query deadline, at most the connect one.
    var serverQueryTimeout: Duration {
        min(configuration.connectTimeout, configuration.queryTimeout ?? configuration.connectTimeout)
    }

    /// Reads the server view of the current target now (one query on the probe connection, never the pool's) and
    /// keeps it for the snapshot. Runs once per scan while periodic health checks keep the probe connection open
    /// (without them each read would open a connection); `pooltop status` calls it once.
    /// - Returns: what the server says about `leakedPIDs` that live on the current target, for the leak ledger.
    @discardableResult
    public func refreshServerOverview(leakedPIDs: [Int32] = []) -> [Int32: ServerActivity] {
        let index = currentTargetIndex
        let target = configuration.targets[index].masked
        let takenAt = Date()
        if state.withLock({ $0.machine.isCurrentTargetFailing }) {
            // A server that fails its health checks would hold this scan for a whole connect deadline.
            markServerOverviewFailed("The server does not answer health checks.", takenAt: takenAt, target: target)
            return [:]
        }
        let rows: [ServerSession]
        do {
            rows = try probes.withConnection(index) { connection in
                let result = try connection.execute(ServerOverviewQuery.sql, timeout: serverQueryTimeout)
                return try result.rows.compactMap { row in
                    ServerOverviewQuery.session(
                        row: try (0..<ServerOverviewQuery.columnCount).map { try row.string($0) })
                }
            }
        } catch {
            markServerOverviewFailed(secrets.scrub("\(error)"), takenAt: takenAt, target: target)
            return [:]
        }
        let view = ServerOverview.build(
            sessions: rows, takenAt: takenAt, target: target, pool: poolMarks(onTarget: index),
            blockedThreshold: configuration.blockedThreshold.timeInterval)
        state.withLock { $0.serverOverview = view }
        let wanted = Set(leakedPIDs.filter { factory.targetIndex(ofBackend: $0) == index })
        return Dictionary(
            rows.filter { wanted.contains($0.pid) }.map { ($0.pid, ServerOverviewQuery.activity($0, takenAt: takenAt)) }
        ) { first, _ in first }
    }

    /// Keeps what was last seen, marked with why it is not current; a blocked-sessions alarm is not kept (nobody can
    /// tell whether it still holds).
    private func markServerOverviewFailed(_ reason: String, takenAt: Date, target: String) {
        state.withLock { s in
            var view = s.serverOverview ?? ServerOverview(takenAt: takenAt, target: target)
            if view.target != target { view = ServerOverview(takenAt: takenAt, target: target) }
            view.error = reason
            view.alarm = nil
            s.serverOverview = view
        }
    }

    /// The pool's own backends on the target at `index`: checked-out ones with their connection id and leak flag,
    /// the rest idle.
    func poolMarks(onTarget index: Int) -> [Int32: PoolMark] {
        var marks: [Int32: PoolMark] = [:]
        for pid in factory.backendPIDs(onTarget: index) { marks[pid] = PoolMark(isCheckedOut: false) }
        let leaked = Set(state.withLock { $0.ledger.leakedBackendPIDs })
        for record in pool.checkedOutConnections() where factory.targetIndex(ofBackend: record.backendPID) == index {
            marks[record.backendPID] = PoolMark(
                connectionID: record.connectionID, isCheckedOut: true, isLeak: leaked.contains(record.backendPID))
        }
        return marks
    }

    /// Cancels the running statement of server session `pid` (`pg_cancel_backend`), on the current target.
    public func cancelBackend(pid: Int32) -> MonitorCommandOutcome {
        signalBackend(pid: pid, terminate: false, by: nil)
    }

    /// Ends server session `pid` (`pg_terminate_backend`), on the current target. A checked-out connection of
    /// this pool is ended as ``terminate(leak:)`` does, so the pool discards it when it comes back.
    public func terminateBackend(pid: Int32) -> MonitorCommandOutcome {
        signalBackend(pid: pid, terminate: true, by: nil)
    }

    /// ``cancelBackend(pid:)`` / ``terminateBackend(pid:)`` on behalf of `actor`, who is named in the event.
    func signalBackend(pid: Int32, terminate: Bool, by actor: ControlPeer?) -> MonitorCommandOutcome {
        let index = currentTargetIndex
        if terminate, factory.targetIndex(ofBackend: pid) == index,
            let record = pool.checkedOutConnections().first(where: { $0.backendPID == pid })
        {
            return self.terminate(leak: record.connectionID, by: actor)
        }
        let verb = terminate ? "terminate" : "cancel"
        let known = state.withLock { $0.serverOverview?.session(pid: pid) }
        let who = Self.describeSession(pid: pid, known)
        let answer: Bool?
        do {
            answer = try probes.withConnection(index) { connection -> Bool? in
                // Ending the probe's own session would only cut the reader of the server view.
                guard connection.backendPID != pid else { return nil }
                let function = terminate ? "pg_terminate_backend" : "pg_cancel_backend"
                let result = try connection.execute(
                    "SELECT \(function)($1::int)", [.int(Int(pid))], timeout: serverQueryTimeout)
                return try result[row: 0].bool(0) ?? false
            }
        } catch let error as PostgresError {
            let reason: String
            if case .server(let e) = error {
                reason = e.message + (e.detail.map { " (\($0))" } ?? "")
            } else {
                reason = "\(error)"
            }
            let message = "The server refused to \(verb) \(who): \(reason)"
            record(.info, "A request\(Self.by(actor)) to \(verb) \(who) was refused: \(reason)", actor: actor)
            return MonitorCommandOutcome(succeeded: false, message: message)
        } catch {
            return MonitorCommandOutcome(succeeded: false, message: "Could not \(verb) \(who): \(error)")
        }
        guard let answer else {
            return MonitorCommandOutcome(
                succeeded: false, message: "Pid \(pid) is pooltop's own monitoring session; nothing was sent.")
        }
        guard answer else {
            return MonitorCommandOutcome(
                succeeded: false, message: "Pid \(pid) is not a session on \(factory.currentTarget.masked) any more.")
        }
        let message =
            terminate
            ? "Terminated \(who)\(Self.by(actor))."
            : "Cancelled the statement of \(who)\(Self.by(actor)); the session stays connected."
        record(.info, message, actor: actor)
        return MonitorCommandOutcome(succeeded: true, message: message)
    }

    /// `pid 4242 (alice, orders-api, "UPDATE accounts …")`.
    static func describeSession(pid: Int32, _ session: ServerSession?) -> String {
        guard let session else { return "pid \(pid)" }
        var parts: [String] = []
        if let user = session.user { parts.append(user) }
        if let app = session.application, !app.isEmpty { parts.append(app) }
        if let query = session.query, !query.isEmpty {
            let flat = query.split(whereSeparator: \.isNewline).joined(separator: " ")
            parts.append("\"" + (flat.count > 60 ? String(flat.prefix(60)) + "…" : flat) + "\"")
        }
        return parts.isEmpty ? "pid \(pid)" : "pid \(pid) (\(parts.joined(separator: ", ")))"
    }
}
