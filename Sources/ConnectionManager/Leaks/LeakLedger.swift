import Foundation

/// Decides which checked-out connections are leaks, remembers them, and notices when they come back.
///
/// Pure value type, no I/O, no clock: the manager feeds it the pool's list of checked-out connections and
/// `now` every few seconds (`update`), the server's view when it fetched one (`updateServerActivity`),
/// and terminations it performed (`markTerminated`). Not thread-safe; keep it inside the manager's lock.
///
/// A connection's life here: not tracked (held ≤ threshold, or expected to be long) → leaked (reported once
/// in `Changes.detected`) → returned (in `Changes.returned` and `returnedLeaks` for `returnedRetention`) or
/// terminated (`markTerminated`; never reported as returned). A checkout is identified by its connection id
/// *and* its checkout time, so a leaked connection that is returned and checked out again between two updates
/// counts as returned, and the new checkout starts from zero.
public struct LeakLedger: Sendable {
    /// What one `update` found.
    public struct Changes: Sendable, Equatable {
        /// Leaks seen for the first time, oldest checkout first. Each checkout appears here at most once.
        public var detected: [LeakReport]
        /// Leaks no longer checked out, oldest checkout first.
        public var returned: [ReturnedLeak]

        public init(detected: [LeakReport] = [], returned: [ReturnedLeak] = []) {
            self.detected = detected
            self.returned = returned
        }

        public var isEmpty: Bool { detected.isEmpty && returned.isEmpty }
    }

    private struct CheckoutKey: Hashable, Sendable {
        var connectionID: Int
        var checkedOutAt: Date
        init(_ info: ConnectionInfo) {
            connectionID = info.connectionID
            checkedOutAt = info.checkedOutAt
        }
    }

    private struct Leak: Sendable {
        var info: ConnectionInfo
        var detectedAt: Date
    }

    /// How many returned leaks are kept (default 20); the oldest go first.
    public var returnedCapacity: Int
    /// How long a returned leak stays listed (default 5 minutes).
    public var returnedRetention: Duration

    private var leaks: [CheckoutKey: Leak] = [:]
    /// Terminated checkouts the pool still lists (the holder has not given the handle back yet).
    private var terminated: Set<CheckoutKey> = []
    private var activity: [Int32: ServerActivity] = [:]
    /// Newest first.
    private var returned: [ReturnedLeak] = []
    /// Leaks detected since the ledger was created (each checkout counted once).
    public private(set) var totalLeaked = 0

    public init(returnedCapacity: Int = 20, returnedRetention: Duration = .seconds(300)) {
        self.returnedCapacity = max(0, returnedCapacity)
        self.returnedRetention = returnedRetention
    }

    /// Compares the pool's checked-out connections with what the ledger knew.
    ///
    /// - Parameters:
    ///   - checkedOut: every connection checked out right now (leaked or not), from the pool.
    ///   - threshold: a checkout held longer than this (strictly) is a leak, unless `isExpectedLong`.
    ///   - now: the manager's clock. A return is noticed here, so `ReturnedLeak.heldFor` and `returnedAt` are
    ///     late by at most one update period.
    public mutating func update(checkedOut: [ConnectionInfo], threshold: Duration, now: Date) -> Changes {
        let limit = threshold.timeInterval
        var changes = Changes()
        var present = Set<CheckoutKey>(minimumCapacity: checkedOut.count)
        for info in checkedOut {
            let key = CheckoutKey(info)
            present.insert(key)
            if terminated.contains(key) { continue }
            if info.isExpectedLong {
                // Marked long after it was flagged: the holder vouched for it, drop the alarm silently.
                leaks[key] = nil
                continue
            }
            if var leak = leaks[key] {
                leak.info = info  // lastSQL may have changed
                leaks[key] = leak
            } else if now.timeIntervalSince(info.checkedOutAt) > limit {
                leaks[key] = Leak(info: info, detectedAt: now)
                totalLeaked += 1
                changes.detected.append(report(info, detectedAt: now, now: now))
            }
        }
        for (key, leak) in leaks where !present.contains(key) {
            leaks[key] = nil
            changes.returned.append(
                ReturnedLeak(info: leak.info, heldFor: now.timeIntervalSince(leak.info.checkedOutAt), returnedAt: now))
        }
        terminated.formIntersection(present)
        changes.detected.sort { Self.isOlder($0.info, than: $1.info) }
        changes.returned.sort { Self.isOlder($0.info, than: $1.info) }
        returned.insert(contentsOf: changes.returned.reversed(), at: 0)
        pruneReturned(now: now)
        let leakedPIDs = Set(leaks.values.map(\.info.backendPID))
        activity = activity.filter { leakedPIDs.contains($0.key) }
        return changes
    }

    /// Current leaks, oldest checkout first, with `heldFor` measured at `now` and the server's view merged in.
    public func leaks(now: Date) -> [LeakReport] {
        leaks.values
            .sorted { Self.isOlder($0.info, than: $1.info) }
            .map { report($0.info, detectedAt: $0.detectedAt, now: now) }
    }

    /// Number of current leaks.
    public var leakCount: Int { leaks.count }

    /// Recently returned leaks, newest first, without those older than `returnedRetention` at `now`.
    public func returnedLeaks(now: Date) -> [ReturnedLeak] {
        let oldest = now.addingTimeInterval(-returnedRetention.timeInterval)
        return returned.filter { $0.returnedAt >= oldest }
    }

    /// Backend pids of the current leaks, ascending: the `$1` of `ServerActivityQuery.sql`.
    public var leakedBackendPIDs: [Int32] {
        Set(leaks.values.map(\.info.backendPID)).sorted()
    }

    /// Replaces the server's view of the leaked backends with a fresh `pg_stat_activity` fetch.
    ///
    /// A leaked pid missing from `activityByPID` gets no server view (the backend is gone or was not visible).
    /// Entries for pids that are not leaked are ignored.
    public mutating func updateServerActivity(_ activityByPID: [Int32: ServerActivity]) {
        let leakedPIDs = Set(leaks.values.map(\.info.backendPID))
        activity = activityByPID.filter { leakedPIDs.contains($0.key) }
    }

    /// Forgets a leak the manager terminated (`pg_terminate_backend` + invalidated in the pool).
    ///
    /// Returns the report as it stood (for the event log), or `nil` when `connectionID` is not a current leak.
    /// The checkout is never reported as returned, and not as a new leak while the pool still lists it.
    @discardableResult
    public mutating func markTerminated(_ connectionID: Int, now: Date) -> LeakReport? {
        guard let (key, leak) = leaks.first(where: { $0.key.connectionID == connectionID }) else { return nil }
        leaks[key] = nil
        terminated.insert(key)
        return report(leak.info, detectedAt: leak.detectedAt, now: now)
    }

    /// The checkout stack of a current or recently returned leak, for symbolication on demand.
    public func stack(connectionID: Int) -> CapturedStack? {
        if let leak = leaks.values.first(where: { $0.info.connectionID == connectionID }) {
            return leak.info.stack
        }
        return returned.first { $0.info.connectionID == connectionID }?.info.stack
    }

    /// Oldest checkout first; ties (same instant) by connection id, so the order never depends on hashing.
    private static func isOlder(_ a: ConnectionInfo, than b: ConnectionInfo) -> Bool {
        (a.checkedOutAt, a.connectionID) < (b.checkedOutAt, b.connectionID)
    }

    private func report(_ info: ConnectionInfo, detectedAt: Date, now: Date) -> LeakReport {
        LeakReport(
            info: info, heldFor: now.timeIntervalSince(info.checkedOutAt), detectedAt: detectedAt,
            server: activity[info.backendPID])
    }

    private mutating func pruneReturned(now: Date) {
        let oldest = now.addingTimeInterval(-returnedRetention.timeInterval)
        returned.removeAll { $0.returnedAt < oldest }
        if returned.count > returnedCapacity {
            returned.removeLast(returned.count - returnedCapacity)
        }
    }
}
