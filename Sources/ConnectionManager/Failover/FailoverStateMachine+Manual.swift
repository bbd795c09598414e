import Foundation

extension FailoverStateMachine {
    /// A person asked to fail over to target `target`, or to the next suitable one when `nil`.
    ///
    /// Returns `.refuse` at once for an unknown or already-current target (or while another manual request
    /// waits for its probes); otherwise `.probe` of the candidates. Feed the probe results back
    /// (`checkSucceeded` / `checkFailed` / `probeResult`): the result that settles it returns `.switchTo`
    /// or `.refuse`. Roles are always probed afresh, never taken from earlier checks.
    public mutating func manualFailoverRequested(to target: Int?, at: Date) -> [Action] {
        if let pending = manual {
            if at.timeIntervalSince(pending.requestedAt) < configuration.manualRequestTimeout.timeInterval {
                // This request is refused; the pending one goes on (its probes will still settle it).
                return [
                    refuseManual(
                        target, "A manual failover is already in progress; try again when it finishes.", at,
                        endsPending: false)
                ]
            }
            manual = nil  // Its probes never came back: give up on it.
        }
        if let target {
            guard targetURLs.indices.contains(target) else {
                return [
                    refuseManual(
                        nil, "There is no target \(target); the targets are numbered 0 to \(targetURLs.count - 1).", at)
                ]
            }
            guard target != current else {
                return [refuseManual(target, "\(describe(target)) is already the current target.", at)]
            }
            manual = ManualRequest(target: target, requestedAt: at)
            return [.probe([target])]
        }
        let others = targetURLs.indices.filter { $0 != current }
        guard !others.isEmpty else {
            return [
                refuseManual(
                    nil, "There is no other target to fail over to; only \(describe(current)) is configured.", at)
            ]
        }
        manual = ManualRequest(target: nil, requestedAt: at)
        return [.probe(others)]
    }

    /// Settles the pending manual request once the probes it needs have answered; `[]` while waiting.
    mutating func evaluateManual(at: Date) -> [Action] {
        guard let request = manual else { return [] }
        if let target = request.target {
            guard let observation = request.fresh[target] else { return [] }
            switch observation {
            case .down(let error):
                return [refuseManual(target, "\(describe(target)) is down: \(error).", at)]
            case .standby where !configuration.allowReadOnlyTargets:
                return [
                    refuseManual(
                        target,
                        "\(describe(target)) is a read-only standby (pg_is_in_recovery() is true); promote it first, "
                            + "or set DB_FAILOVER_ALLOW_READ_ONLY=true (failoverAllowReadOnly) to allow read-only targets.",
                        at)
                ]
            case .reachable where !configuration.allowReadOnlyTargets:
                return [
                    refuseManual(
                        target,
                        "\(describe(target)) did not report whether it is a primary; "
                            + "set DB_FAILOVER_ALLOW_READ_ONLY=true (failoverAllowReadOnly) to allow it anyway.", at)
                ]
            default:
                return [performSwitch(to: target, reason: .manual, at: at)]
            }
        }
        let others = targetURLs.indices.filter { $0 != current }
        if let primary = firstPrimaryWithAnsweredPrefix(others, in: request.fresh) {
            return [performSwitch(to: primary, reason: .manual, at: at)]
        }
        guard others.allSatisfy({ request.fresh[$0] != nil }) else { return [] }
        if configuration.allowReadOnlyTargets, let standby = others.first(where: { request.fresh[$0] == .standby }) {
            return [performSwitch(to: standby, reason: .manual, at: at)]
        }
        let reasons = others.map { "\(describe($0)) \(summary(request.fresh[$0]))" }.joined(separator: "; ")
        return [refuseManual(nil, "No other target is a reachable primary: \(reasons).", at)]
    }

    private mutating func refuseManual(_ target: Int?, _ reason: String, _ at: Date, endsPending: Bool = true)
        -> Action
    {
        if endsPending { manual = nil }
        appendEvent(
            FailoverEvent(
                from: targetURLs[current],
                to: target.flatMap { targetURLs.indices.contains($0) ? targetURLs[$0] : nil } ?? "",
                reason: .manual, at: at, duration: 0, refusal: reason))
        return .refuse(reason)
    }
}

extension FailoverStateMachine {
    /// "Target 2 (postgresql://app:***@db2/app)".
    func describe(_ index: Int) -> String {
        "Target \(index) (\(targetURLs[index]))"
    }

    /// What the latest answer says, as a predicate: "is down (connection refused)".
    func summary(_ observation: Observation?) -> String {
        switch observation {
        case .none: return "has not answered"
        case .down(let error): return "is down (\(error))"
        case .primary: return "is a primary"
        case .standby: return "is a read-only standby"
        case .reachable: return "did not report its role"
        }
    }

    /// The `.stayPut` sentence after a fruitless round.
    func noPrimaryMessage() -> String {
        let count = targetURLs.count
        let details = targetURLs.indices.map { "\(describe($0)) \(summary(round.fresh[$0]))" }.joined(separator: "; ")
        return "No reachable primary among \(count) target\(count == 1 ? "" : "s") (\(details)); staying on "
            + "target \(current) and still probing every \(configuration.searchInterval.timeInterval.formatted()) s."
    }
}
