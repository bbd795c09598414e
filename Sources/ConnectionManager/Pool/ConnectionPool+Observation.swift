import Foundation
import Synchronization

extension ConnectionPool {
    // MARK: Observation

    /// Counters, gauges and latency percentiles now (`leakedConnections` is left 0 for the manager).
    public func metrics() -> PoolMetrics {
        var metrics = metricsSnapshot().resolved()
        metrics.sessionResets = factory.sessionResets
        return metrics
    }

    /// The machine's counters and gauges with the loans' facts added in.
    func metricsSnapshot() -> PoolMetricsSnapshot {
        withLoanFacts(state.withLock { $0.metricsSnapshot() })
    }

    /// Adds what the holders recorded in the slot table to a snapshot the machine took: checkouts, checkins,
    /// their wait and hold windows, and which of the slots the machine counts as out are parked in the lane
    /// (checked in: nobody holds them).
    func withLoanFacts(_ machineSnapshot: PoolMetricsSnapshot) -> PoolMetricsSnapshot {
        var snapshot = machineSnapshot
        if let retryAt = snapshot.breakerRetryAt {
            snapshot.metrics.connectBreaker?.retryAt = wallDate(monotonic: retryAt)
        }
        let parked = min(lane.idleCount(), snapshot.metrics.checkedOut)
        snapshot.metrics.checkedIn += parked
        snapshot.metrics.checkedOut -= parked
        (snapshot.metrics.totalCheckouts, snapshot.metrics.totalCheckins) = lane.totals()
        snapshot.metrics.utilization = Double(snapshot.metrics.checkedOut) / Double(max(1, snapshot.metrics.size))
        snapshot.waitSamples = lane.waitSamples()
        snapshot.holdSamples = lane.holdSamples()
        return snapshot
    }

    /// A copy of the record of every connection lent right now, oldest checkout first. Reads only the slot
    /// table (each slot's word, its facts and its record), never the machine's lock.
    public func checkedOutConnections() -> [CheckoutRecord] {
        var records: [CheckoutRecord] = []
        for slot in 0..<slotCount {
            let (laneState, seq) = lane.state(slot)
            guard laneState == .lent || laneState == .returning else { continue }
            let block = lane.block(slot)
            // Acquire: pairs with the release that stored it after the record (`laneLease`, `FastLane.lend`).
            let leaseAt = block.pointee.leaseAt.load(ordering: .acquiring)
            // Claimed, but the claimer is still checking it (recycle age, pre-ping): nobody holds it yet, and the
            // record and the time would be an earlier loan's (the leak detector took the boot, or that loan's
            // start, for this one's).
            if leaseAt == FastLane<Connection>.leaseNotStarted { continue }
            let record = lane.withRecord(slot) { $0 }
            let connectionID = block.pointee.connectionID.load(ordering: .relaxed)
            let backendPID = block.pointee.backendPID.load(ordering: .relaxed)
            let generation = block.pointee.generation.load(ordering: .relaxed)
            // Still the same loan (not given back and lent again meanwhile)?
            guard lane.state(slot) == (laneState, seq) else { continue }
            records.append(
                CheckoutRecord(
                    connectionID: connectionID, backendPID: backendPID, checkedOutAt: wallDate(monotonic: leaseAt),
                    checkedOutAtNanoseconds: leaseAt, threadName: record.context.threadName,
                    stack: record.context.stack, lastSQL: record.lastSQL, isExpectedLong: record.isExpectedLong,
                    generation: generation))
        }
        records.sort { ($0.checkedOutAtNanoseconds, $0.connectionID) < ($1.checkedOutAtNanoseconds, $1.connectionID) }
        return records
    }
}
