import Foundation

/// The leak scan and the ending of leaked connections on the server.
extension ManagerStateMachine {
    /// Once per scan: the connections checked out now (`checkedOut`, with their stacks, when leak detection is on)
    /// and the ids of every lent connection (`stillCheckedOut`): a connection ended as a leak and no longer lent is
    /// forgotten (ids are never reused).
    /// - Returns: the newly detected leaks (event, unlogged, then the stack logged), the returned ones, and the
    ///   server activity to fetch (with the server overview when a monitor runs, whether or not anything leaked).
    mutating func scanTicked(
        checkedOut: [ConnectionInfo], stillCheckedOut: Set<Int>, threshold: Duration, now: Date
    ) -> [Action] {
        let changes = ledger.update(checkedOut: checkedOut, threshold: threshold, now: now)
        terminated.formIntersection(stillCheckedOut)
        var actions: [Action] = []
        for leak in changes.detected {
            let message =
                "Connection \(leak.info.connectionID) (backend \(leak.info.backendPID), thread "
                + "\(leak.info.threadName)) has been held for \(Int(leak.heldFor)) s, over the "
                + "\(Int(threshold.timeInterval)) s leak threshold."
            actions.append(emit(.leakDetected, message, at: now, isLogged: false))
            actions.append(.logLeakStack(message: message, stack: leak.info.stack))
        }
        for returned in changes.returned {
            actions.append(
                emit(
                    .leakReturned,
                    "Leaked connection \(returned.info.connectionID) came back after \(Int(returned.heldFor)) s.",
                    at: now))
        }
        let pids = ledger.leakedBackendPIDs
        if configuration.hasHealthMonitor || !pids.isEmpty {
            actions.append(.fetchActivity(leakedPIDs: pids, readsOverview: configuration.hasHealthMonitor))
        }
        return actions
    }

    /// What the server said about leaked backends (`pg_stat_activity` rows by pid).
    mutating func activityFetched(_ byPID: [Int32: ServerActivity]) {
        ledger.updateServerActivity(byPID)
    }

    /// Someone asked to end connection `connectionID`, lent now with `backendPID` on target `target` (`nil` when
    /// not lent, or when two servers use that pid). It counts as ended from here on, so its holder's next
    /// statement fails even while `pg_terminate_backend` runs.
    mutating func terminationRequested(connectionID: Int, backendPID: Int32?, target: Int?) -> [Action] {
        guard let backendPID else {
            return [
                .reply(
                    MonitorCommandOutcome(
                        succeeded: false,
                        message: "Connection \(connectionID) is not checked out any more; nothing to end."))
            ]
        }
        guard let target else {
            return [
                .reply(
                    MonitorCommandOutcome(
                        succeeded: false,
                        message: "Cannot tell which server backend \(backendPID) of connection \(connectionID) is on "
                            + "(two servers use that pid); nothing was ended."))
            ]
        }
        terminated.insert(connectionID)
        return [.terminateBackend(connectionID: connectionID, backendPID: backendPID, target: target)]
    }

    /// How a `pg_terminate_backend` went.
    enum TerminationResult: Sendable, Equatable {
        /// The server ended the backend.
        case ended
        /// The backend was already gone (`false` from the server).
        case alreadyGone
        /// The call failed (no connection, an error); the sentence says why.
        case failed(String)
    }

    /// The `.terminateBackend` for `connectionID` finished; `actor` asked for it (named in the event).
    mutating func terminationFinished(
        connectionID: Int, backendPID: Int32, result: TerminationResult, actor: ControlPeer?, at: Date
    ) -> [Action] {
        let message: String
        switch result {
        case .failed(let error):
            terminated.remove(connectionID)
            return [
                .reply(
                    MonitorCommandOutcome(
                        succeeded: false, message: "Could not end connection \(connectionID) on the server: \(error)"))
            ]
        case .ended:
            message =
                actor.map {
                    "Connection \(connectionID) (backend \(backendPID)) was ended on the server by \($0); its holder "
                        + "gets an error on next use."
                }
                ?? "Ended connection \(connectionID) (backend \(backendPID)) on the server; its holder gets an error "
                + "on next use."
        case .alreadyGone:
            message =
                "Backend \(backendPID) of connection \(connectionID) was already gone"
                + (actor.map { " when by \($0) asked to end it" } ?? "")
                + "; the pool will discard it when it is returned."
        }
        _ = ledger.markTerminated(connectionID, now: at)
        return [
            emit(.leakTerminated, message, actor: actor),
            .reply(MonitorCommandOutcome(succeeded: true, message: message)),
        ]
    }

    /// A connection ended as a leak was given back (the shell closed it first, so the pool discards it).
    mutating func terminatedConnectionReturned(_ connectionID: Int) {
        terminated.remove(connectionID)
    }
}
