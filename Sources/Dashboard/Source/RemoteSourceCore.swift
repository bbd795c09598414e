import PoolModel

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The decisions of ``RemoteMonitorSource``, as a value: facts in (a reply arrived, a poll failed, the socket
/// moved), what to show and what the next poll asks for out. No I/O, no clock: times come in as arguments.
///
/// States: *live* (the last poll succeeded) → *stale* (a poll failed: the last snapshot stays on screen,
/// marked with its age and the reason, and every tick retries) → *live* again when a poll succeeds.
/// A service that restarted (new pid, new start time, or an event cursor that went back) has its events
/// replaced rather than merged.
///
/// The health history is kept here too: after a full read, polls ask for `health_after` = the newest check's
/// sequence and append what comes (`health_history_after` set), trimmed to the service's window
/// (`health_count`). A restart, a change of target, a reply that does not continue our cursor or leaves fewer
/// checks than the service holds (a gap) drops the cursor: the next poll, at once, reads the whole history.
struct RemoteSourceCore: Sendable, Equatable {
    /// Events kept for the Events panel (the newest; the service may retain more).
    static let retainedEvents = 256

    var service: AttachedService
    /// The snapshot on screen; its `events` are the merged event log.
    var latest: ManagerSnapshot
    /// Local time the latest snapshot arrived.
    var receivedAt: Date
    /// Why the last poll failed; `nil` while live.
    var failure: String?
    /// The newest event sequence merged; the next poll asks for events after it.
    var cursor: Int?
    /// The newest health check's sequence in `latest.healthHistory`; the next poll asks for checks after it
    /// (`nil`: read the whole history).
    var healthCursor: Int?
    /// Read `/v1/info` before the next snapshot (after a failure: the service may be another process now).
    var needsInfo = false

    init(service: AttachedService, first: ControlClient.SnapshotReply, at: Date) {
        self.service = service
        latest = first.snapshot
        receivedAt = at
        cursor = first.eventsCursor
        // A first reply is read whole (the shell asks without cursors); a delta here could not be placed.
        healthCursor = first.healthHistoryAfter == nil ? first.healthCursor : nil
        trimEvents()
    }

    /// `events_after` for the next snapshot request.
    var eventsAfter: Int? { cursor }

    /// `health_after` for the next snapshot request.
    var healthAfter: Int? { healthCursor }

    func status(now: Date) -> SourceStatus {
        guard let failure else { return .live }
        return .stale(since: receivedAt, reason: failure, checkedAt: now)
    }

    /// `GET /v1/info` answered (at `path`). A new pid is a new process: its events start over.
    mutating func infoArrived(_ info: ControlClient.Info, path: String) {
        if info.pid != service.pid { restartDetected() }
        service = AttachedService(
            program: info.program ?? info.poolName, pid: info.pid, poolName: info.poolName, socketPath: path,
            mayAct: info.mayAct)
        needsInfo = false
    }

    /// A snapshot arrived. Returns true when it showed a restart the shell did not know of: poll again at once
    /// (without a cursor) so the new process's whole event log and identity are read.
    @discardableResult
    mutating func snapshotArrived(_ reply: ControlClient.SnapshotReply, at now: Date) -> Bool {
        var snap = reply.snapshot
        let wentBack = cursor.map { old in reply.eventsCursor.map { $0 < old } ?? false } ?? false
        let restarted = snap.startedAt != latest.startedAt || wentBack
        if restarted { restartDetected() }
        let healthWhole = mergeHealth(into: &snap, reply, restarted: restarted)
        if let replyCursor = reply.eventsCursor, !restarted {
            // Merge: keep what we have, add what is newer than our cursor (a service that ignored
            // events_after would otherwise repeat events).
            var merged = latest.events
            for (event, sequence) in zip(snap.events, reply.eventSequences) {
                if let old = cursor, let sequence, sequence <= old { continue }
                merged.append(event)
            }
            snap.events = merged
            cursor = max(replyCursor, cursor ?? replyCursor)
        } else if !restarted {
            // A service without event sequences sends its whole retained list every time.
            cursor = nil
        }
        latest = snap
        trimEvents()
        receivedAt = now
        failure = nil
        return restarted || !healthWhole
    }

    /// Puts the reply's health history into `snap`: as it is when whole, appended to ours when it is the delta
    /// after our cursor. Returns false when it could not be placed (the caller polls again at once, without
    /// `health_after`); `snap` then keeps our history until that poll.
    private mutating func mergeHealth(
        into snap: inout ManagerSnapshot, _ reply: ControlClient.SnapshotReply, restarted: Bool
    ) -> Bool {
        guard let after = reply.healthHistoryAfter else {
            healthCursor = reply.healthCursor
            return true
        }
        var merged = latest.healthHistory
        merged.append(contentsOf: snap.healthHistory)
        let count = reply.healthCount ?? -1
        if count >= 0, merged.count > count { merged.removeFirst(merged.count - count) }
        // A delta without the window's length could not be trimmed: read whole instead.
        guard !restarted, snap.failover.currentURL == latest.failover.currentURL, after == healthCursor,
            let replyCursor = reply.healthCursor, merged.count == count
        else {
            snap.healthHistory = latest.healthHistory
            healthCursor = nil
            return false
        }
        snap.healthHistory = merged
        healthCursor = replyCursor
        return true
    }

    /// A poll failed; the snapshot stays, marked stale.
    mutating func pollFailed(_ reason: String) {
        failure = reason
        needsInfo = true
    }

    /// The service serves on another socket now (an `auto` socket with a new pid).
    mutating func socketMoved(to path: String) {
        service.socketPath = path
        needsInfo = true
    }

    private mutating func restartDetected() {
        cursor = nil
        healthCursor = nil
        latest.events = []
        needsInfo = true
    }

    private mutating func trimEvents() {
        if latest.events.count > Self.retainedEvents {
            latest.events.removeFirst(latest.events.count - Self.retainedEvents)
        }
    }
}
