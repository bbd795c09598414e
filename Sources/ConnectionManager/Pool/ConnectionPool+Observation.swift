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

    /// The machine's counters and gauges with the lane's added in: connections parked in the lane are checked
    /// in (the machine counts them as lent), its checkouts and checkins count, and its checkouts waited 0.
    func metricsSnapshot() -> PoolMetricsSnapshot {
        laneAdjusted(state.withLock { $0.metricsSnapshot() })
    }

    /// Adds the lane's view to a snapshot the machine took.
    func laneAdjusted(_ machineSnapshot: PoolMetricsSnapshot) -> PoolMetricsSnapshot {
        var snapshot = machineSnapshot
        if let retryAt = snapshot.breakerRetryAt {
            snapshot.metrics.connectBreaker?.retryAt = wallDate(monotonic: retryAt)
        }
        let parked = min(lane.idleCount(), snapshot.metrics.checkedOut)
        snapshot.metrics.checkedIn += parked
        snapshot.metrics.checkedOut -= parked
        let (checkouts, checkins) = lane.totals()
        snapshot.metrics.totalCheckouts += checkouts
        snapshot.metrics.totalCheckins += checkins
        snapshot.metrics.utilization = Double(snapshot.metrics.checkedOut) / Double(max(1, snapshot.metrics.size))
        let laneHolds = lane.holdSamples()
        snapshot.holdSamples += laneHolds
        // The lane's checkouts never waited: as many zeros as the lane has recent hold samples.
        snapshot.waitSamples += [Int64](repeating: 0, count: min(checkouts, laneHolds.count))
        return snapshot
    }

    /// A copy of the record of every connection lent right now, oldest checkout first.
    public func checkedOutConnections() -> [CheckoutRecord] {
        let machineRecords = state.withLock { $0.checkedOutRecords() }
        var raw: [CheckoutRecordRaw] = []
        raw.reserveCapacity(machineRecords.count)
        for var record in machineRecords {
            let (laneState, seq) = lane.state(record.slot)
            switch laneState {
            case .out:
                raw.append(record)
            case .idle:
                continue  // parked: nobody holds it
            case .lent, .returning:
                lane.withRecord(record.slot) { laneRecord in
                    record.context = laneRecord.context
                    record.lastSQL = laneRecord.lastSQL
                    record.isExpectedLong = laneRecord.isExpectedLong
                }
                let leaseAt = lane.block(record.slot).pointee.leaseAt.load(ordering: .relaxed)
                // Claimed, but the claimer is still checking it (recycle age, pre-ping): nobody holds it yet, and the
                // record and the time would be an earlier loan's (the leak detector took the boot, or that loan's
                // start, for this one's).
                if leaseAt == FastLane<Connection>.leaseNotStarted { continue }
                record.checkedOutAt = leaseAt
                // Still the same loan (not given back and lent again meanwhile)?
                if lane.state(record.slot) == (laneState, seq) { raw.append(record) }
            }
        }
        raw.sort { $0.checkedOutAt < $1.checkedOutAt }
        return raw.map {
            CheckoutRecord(
                connectionID: $0.connectionID, backendPID: $0.backendPID,
                checkedOutAt: wallDate(monotonic: $0.checkedOutAt),
                checkedOutAtNanoseconds: $0.checkedOutAt, threadName: $0.context.threadName, stack: $0.context.stack,
                lastSQL: $0.lastSQL, isExpectedLong: $0.isExpectedLong, generation: $0.generation)
        }
    }
}
