import Foundation

/// A person's manual failover: each request gets a ticket, and the step that settles it — on the caller's thread
/// or on the monitor's, whichever answer comes first — keeps its outcome for that ticket. The caller collects it
/// with `manualFailoverFinished(ticket:)`; nothing is rebuilt from the failover history.
extension ManagerStateMachine {
    /// A person asked to fail over to `target` (0 = `databaseURL`), or to the next suitable target when `nil`.
    /// - Returns: the request's ticket, and either `.reply` (refused at once: unknown, current, another request
    ///   in progress) or the probes to run on the calling thread.
    mutating func manualFailoverRequested(to target: Int?, at: Date) -> (ticket: Int, actions: [Action]) {
        lastTicket += 1
        let ticket = lastTicket
        let from = current
        let decided = failover.manualFailoverRequested(to: target, at: at)
        if decided.count == 1, case .refuse(let reason) = decided[0] {
            // Refused before any probe: this request's own answer (another pending request is not settled by it).
            return (
                ticket,
                [emit(.failoverRefused, reason), .reply(MonitorCommandOutcome(succeeded: false, message: reason))]
            )
        }
        pendingTicket = ticket
        return (ticket, translate(decided, from: from, route: .callingThread))
    }

    /// The caller of `ticket` ran every probe it was given: the reply is the outcome that settled the request, or
    /// "did not settle" (its answers came too late; the event log says what happened).
    mutating func manualFailoverFinished(ticket: Int) -> [Action] {
        if pendingTicket == ticket { pendingTicket = nil }  // Nobody waits for it any more.
        let outcome =
            replies.removeValue(forKey: ticket)
            ?? MonitorCommandOutcome(succeeded: false, message: "The failover did not settle; see the event log.")
        return [.reply(outcome)]
    }

    /// A switch (manual, or an automatic one that ended the request) or a refusal while a request is pending.
    mutating func settleManual(_ outcome: MonitorCommandOutcome) {
        guard let ticket = pendingTicket else { return }
        pendingTicket = nil
        replies[ticket] = outcome
    }
}
