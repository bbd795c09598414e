import PoolModel

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One line of troubleshooting advice raised by what the snapshot shows.
public struct Hint: Sendable, Equatable {
    public enum Severity: Int, Sendable, Comparable {
        case info, warning, critical
        public static func < (a: Severity, b: Severity) -> Bool { a.rawValue < b.rawValue }
    }

    public var severity: Severity
    public var text: String
}

/// The seed's troubleshooting advice, live: what to look at or tune, most urgent first.
public enum Hints {
    /// Utilization at or above this is "high".
    public static let highUtilization = 0.8
    /// Samples at the end of `utilizationHistory` that must all be high before the hint shows.
    public static let highSamples = 5
    /// Or: seconds of snapshots in a row with high utilization.
    public static let highSeconds: TimeInterval = 10

    public static func compute(_ snap: ManagerSnapshot, highSince: Date?) -> [Hint] {
        var hints: [Hint] = []
        let m = snap.metrics
        switch snap.health.state {
        case .failing:
            // The cause first: at 80 columns the end of the line is what gets cut.
            let why = (snap.health.detail ?? snap.lastHealthCheck?.error).map { "\(Format.causeFirst($0)) — " } ?? ""
            hints.append(
                Hint(
                    severity: .critical,
                    text: "\(why)health checks failing. Check the server and network, or press f to fail over."))
        case .stale:
            hints.append(
                Hint(
                    severity: .critical,
                    text: "\(snap.health.detail ?? "The last health check result is old; a check may be stuck.") "
                        + "The server may be hanging."))
        case .healthy, .checking, .unknown:
            break
        }
        if let alarm = snap.server?.alarm {
            hints.append(
                Hint(
                    severity: .critical,
                    text: "\(alarm.summary): Enter on Server lists them; x there terminates the blocker."))
        }
        if m.isSuspended {
            hints.append(Hint(severity: .warning, text: "Checkouts are suspended: callers wait. Press s to resume."))
        }
        let tail = snap.utilizationHistory.suffix(highSamples)
        let highFor = highSince.map { snap.takenAt.timeIntervalSince($0) } ?? 0
        let sustained =
            (tail.count == highSamples && tail.allSatisfy { $0 >= highUtilization }) || highFor >= highSeconds
        if m.utilization >= highUtilization, sustained {
            let span = highFor >= 1 ? "for \(Format.age(highFor))" : "for \(highSamples)+ samples"
            hints.append(
                Hint(
                    severity: .warning,
                    text: "Pool above 80 % \(span): raise pool_size / max_overflow or find slow holders (Leaks)."))
        }
        if let breaker = m.connectBreaker, breaker.state != .closed {
            let n = breaker.failures
            let failed = "\(n) connect\(n == 1 ? "" : "s") failed in a row"
            switch breaker.state {
            case .open:
                let wait = breaker.retryAt.map { max(0, $0.timeIntervalSince(snap.takenAt)) } ?? 0
                hints.append(
                    Hint(
                        severity: .warning,
                        text: "Connects back off (breaker open): \(failed); next attempt in \(Format.age(wait)). "
                            + "Checkouts wait for a connection given back."))
            case .halfOpen:
                hints.append(
                    Hint(
                        severity: .warning,
                        text: "Connects back off (breaker half-open): \(failed); one trial connect is under way."))
            case .closed:
                break
            }
        }
        // The last minute, not the lifetime total: a hint clears when the problem is over.
        let recent = snap.recent
        if recent.timeoutsWhileSuspended > 0 {
            let n = recent.timeoutsWhileSuspended
            hints.append(
                Hint(
                    severity: .warning,
                    text: "\(n) checkout\(n == 1 ? "" : "s") timed out in the last minute because the pool is "
                        + "suspended\(m.isSuspended ? ": press s to resume" : " (it was resumed since)")."))
        }
        let saturated = recent.timeouts - recent.timeoutsWhileSuspended
        if saturated > 0 {
            hints.append(
                Hint(
                    severity: .warning,
                    text: "\(saturated) checkout\(saturated == 1 ? "" : "s") timed out in the last minute (pool "
                        + "saturated): raise pool_timeout or the pool size, or shorten transactions."))
        }
        if !snap.leaks.isEmpty {
            let n = snap.leaks.count
            hints.append(
                Hint(
                    severity: .warning,
                    text: "\(n) connection\(n == 1 ? "" : "s") held > \(Int(snap.leakThreshold))s: Enter on a leak "
                        + "shows where it was checked out; x terminates it."))
        }
        if recent.connectFailures > 0, snap.health.state == .healthy {
            hints.append(
                Hint(
                    severity: .info,
                    text: "\(recent.connectFailures) connects failed in the last minute: check the URL, credentials "
                        + "and max_connections."))
        }
        if m.waiting > 0, m.utilization < highUtilization {
            hints.append(Hint(severity: .info, text: "\(m.waiting) callers waiting for a connection."))
        }
        return hints.enumerated().sorted { a, b in
            a.element.severity != b.element.severity ? a.element.severity > b.element.severity : a.offset < b.offset
        }.map(\.element)
    }
}
