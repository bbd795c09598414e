#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What can honestly be said about the current target's health right now, from its last check and the clock.
///
/// A dashboard or a status line shows this instead of reading `lastHealthCheck?.healthy`: there is no "healthy"
/// before the first check, and none with a frozen timestamp (a check stuck past its deadline, or a monitor that
/// stopped), which is exactly when the person looking needs to know.
public struct HealthVerdict: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable {
        /// Periodic checks are off and nothing was checked yet: nobody knows.
        case unknown
        /// Periodic checks are on; the first one has not answered yet.
        case checking
        /// The last check passed, recently enough.
        case healthy
        /// The last check failed.
        case failing
        /// The last result is older than a check interval plus its deadlines: a check is stuck or none runs.
        case stale
    }

    public var state: State
    /// Since when this state holds, as far as known (the last check's time; for `stale`, the last result's time).
    public var since: Date?
    /// The last check's error for `failing`; a sentence saying how old the last result is for `stale`.
    public var detail: String?

    public init(state: State, since: Date? = nil, detail: String? = nil) {
        self.state = state
        self.since = since
        self.detail = detail
    }

    /// Judges the last check of the current target.
    /// - Parameters:
    ///   - checksEnabled: whether periodic checks run (`DB_HEALTH_CHECK`).
    ///   - interval: time between periodic checks.
    ///   - deadline: the longest a check takes when the server hangs (connect plus query deadline).
    public static func judge(
        last: HealthCheckResult?, checksEnabled: Bool, interval: Duration, deadline: Duration, now: Date
    ) -> HealthVerdict {
        guard let last else { return HealthVerdict(state: checksEnabled ? .checking : .unknown) }
        if checksEnabled {
            // One missed tick is allowed for a loaded machine: the next check may start up to an interval late.
            let allowed = (interval * 2 + deadline + .seconds(1)).timeInterval
            let age = now.timeIntervalSince(last.checkedAt)
            if age > allowed {
                return HealthVerdict(
                    state: .stale, since: last.checkedAt,
                    detail: "The last health check result is \(Int(age)) s old (checks are due every "
                        + "\(Self.seconds(interval))); a check may be stuck.")
            }
        }
        if last.healthy { return HealthVerdict(state: .healthy, since: last.checkedAt) }
        return HealthVerdict(state: .failing, since: last.checkedAt, detail: last.error)
    }

    private static func seconds(_ duration: Duration) -> String {
        let value = duration.timeInterval
        return value == value.rounded() ? "\(Int(value)) s" : "\(FixedPoint.format(value, decimals: 1)) s"
    }
}
