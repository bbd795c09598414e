import Dispatch
import Foundation
import Synchronization

/// The lock-free lane, as the pool uses it: claims checked by the reuse rule, lane leases, parking and
/// reclaiming, and `withMachine`, which mirrors the machine's decisions into the lane after every step.
extension ConnectionPool {
    // MARK: The lock-free lane

    @inline(__always)
    func preferredSlot(_ habits: UnsafeMutablePointer<ThreadContext.Habits>) -> Int {
        habits.pointee.preferredSlot(in: ObjectIdentifier(self))
    }

    /// The checks the machine makes at checkout, on a claimed lane slot: a connection older than `poolRecycle`
    /// is closed, one idle longer than the pre-ping threshold is pinged (and closed if dead). False when it was
    /// closed (the machine got the slot back). Pings on this thread: only for threads (tasks use `laneCheck`).
    @inline(__always)
    func laneClaimIsUsable(_ claim: FastLane<Connection>.Claim, now: Int64) -> Bool {
        switch laneCheck(claim, now: now) {
        case .usable: return true
        case .closed: return false
        case .needsPing: return pingedClaimIsUsable(claim, isAlive: factory.ping(claimedConnection(claim)), now: now)
        }
    }

    enum LaneCheck { case usable, closed, needsPing }

    /// The checks of `laneClaimIsUsable` without the ping: `.needsPing` leaves it to the caller.
    @inline(__always)
    func laneCheck(_ claim: FastLane<Connection>.Claim, now: Int64) -> LaneCheck {
        let block = lane.block(claim.slot)
        if reuse.isTooOld(openedAt: block.pointee.openedAt.load(ordering: .relaxed), now: now) {
            giveClaimToMachine(claim, isUsable: false, isRecycled: true, now: now)
            return .closed
        }
        if reuse.needsPing(idleSince: block.pointee.idleSince.load(ordering: .relaxed), now: now) { return .needsPing }
        return .usable
    }

    func claimedConnection(_ claim: FastLane<Connection>.Claim) -> Connection {
        lane.connection(claim.slot).takeUnretainedValue()
    }

    /// After the pre-ping of a claimed lane slot: a dead connection goes back to the machine (closed).
    func pingedClaimIsUsable(_ claim: FastLane<Connection>.Claim, isAlive: Bool, now: Int64) -> Bool {
        if isAlive { return true }
        giveClaimToMachine(claim, isUsable: false, isRecycled: false, now: now)
        return false
    }

    /// Turns a claimed (and checked) lane slot into a lease. `waited`: how long the request waited before it
    /// claimed it (0 for a checkout that never queued).
    @inline(__always)
    func laneLease(
        _ claim: FastLane<Connection>.Claim, habits: UnsafeMutablePointer<ThreadContext.Habits>,
        stack: CapturedStack?, now: Int64, isPrecise: Bool = true, waited: Int64 = 0
    ) -> Lease {
        let slot = claim.slot
        let block = lane.block(slot)
        let connection = lane.connection(slot)
        lane.recordCheckout(slot, waited: waited)
        // `.min`: a coarse checkout time, no hold-time sample for this lease.
        block.pointee.holdSince.store(isPrecise ? now : .min, ordering: .relaxed)
        // The record already names this thread and holds nothing else: leave it (and its lock) alone.
        let thread = habits.pointee.id
        if stack != nil || block.pointee.recordOwner.load(ordering: .relaxed) != thread {
            lane.startRecord(
                slot, context: LeaseContext(threadName: habits.pointee.name, stack: stack),
                owner: stack == nil ? thread : 0)
        }
        // After the record. Release: an observer that reads this loan's start with acquire (`checkedOutConnections`)
        // then reads this loan's record, not an earlier one's.
        block.pointee.leaseAt.store(now, ordering: .releasing)
        notify { $0.onCheckout?(connection.takeUnretainedValue()) }
        return Lease(
            connection: connection.takeUnretainedValue(),
            connectionID: block.pointee.connectionID.load(ordering: .relaxed), slot: slot, seq: claim.seq, pool: self)
    }

    /// A claimed lane slot that nobody will use goes back to the machine (closed when not usable).
    private func giveClaimToMachine(_ claim: FastLane<Connection>.Claim, isUsable: Bool, isRecycled: Bool, now: Int64) {
        _ = lane.beginReturn(claim.slot, seq: claim.seq)
        lane.leave(claim.slot, seq: claim.seq)
        let action = withMachine {
            $0.connectionReleased(slot: claim.slot, isUsable: isUsable, now: now, isRecycled: isRecycled)
        }
        act(on: action)
    }

    /// A claim nobody takes after all goes back to the lane as it was (its idle time kept).
    func returnClaimToLane(_ claim: FastLane<Connection>.Claim) {
        _ = lane.beginReturn(claim.slot, seq: claim.seq)
        lane.park(claim.slot, now: lane.block(claim.slot).pointee.idleSince.load(ordering: .relaxed))
        afterPark(claim.slot, returnsSoon: false)
    }

    /// After parking `slot`: if the lane closed or changed epoch meanwhile, the machine gets it back; if requests
    /// wait and this thread is not about to take it again, the oldest sleeping one is woken to try.
    @inline(__always)
    func afterPark(_ slot: Int, returnsSoon: Bool) {
        // Both loads follow `park`'s sequentially consistent store: the parking side of FastLane's Dekker pairs
        // (1) `mayPark` against `withMachine` closing the lane or changing its epoch, then draining, and (2) the
        // `waiterCount` load against a request that starts waiting and then looks at the lane (`retry`).
        if !lane.mayPark(slot) {
            reclaim(slot)
            return
        }
        if lane.waiterCount.load(ordering: .sequentiallyConsistent) > 0, !returnsSoon {
            if let waiter = withMachine({ $0.laneConnectionParked() }) { wake(waiter) }
        }
    }

    /// Moves `slot` from the lane back to the machine if it is idle there (keeping when it became idle).
    func reclaim(_ slot: Int) {
        guard lane.reclaimIdle(slot) else { return }
        let idleSince = lane.block(slot).pointee.idleSince.load(ordering: .relaxed)
        let now = MonotonicClock.now
        let action = withMachine {
            $0.connectionReleased(slot: slot, isUsable: true, now: now, idleSince: min(idleSince, now))
        }
        act(on: action)
    }

    /// Gives every idle connection in the lane back to the machine (the lane closed or changed epoch).
    func drainLane() {
        for slot in 0..<slotCount { reclaim(slot) }
    }

    /// Runs `body` on the machine under its lock, then mirrors what the lane must know (is it open, which epoch,
    /// do requests wait). When the lane just closed or changed epoch, its idle connections go back to the
    /// machine (after the lock).
    @inline(__always)
    func withMachine<Result>(_ body: (inout Machine) -> Result) -> Result {
        // Under the lock: only here are `waiterCount`, `epoch` and `isOpen` written, so the relaxed loads read the
        // last store. The stores are sequentially consistent: the store half of FastLane's Dekker pairs (1) a lane
        // that closes or changes epoch, then drains (after the lock), against a `park` followed by `mayPark`, and
        // (2) a request that starts waiting, then looks at the lane (`retry`), against a park followed by
        // `afterPark`'s `waiterCount` load. Release stores would let both sides miss each other.
        let (result, drains) = state.withLock { machine -> (Result, Bool) in
            let result = body(&machine)
            let waiting = machine.waiters.count
            if lane.waiterCount.load(ordering: .relaxed) != waiting {
                lane.waiterCount.store(waiting, ordering: .sequentiallyConsistent)
            }
            var drains = false
            if lane.epoch.load(ordering: .relaxed) != machine.laneEpoch {
                lane.epoch.store(machine.laneEpoch, ordering: .sequentiallyConsistent)
                drains = true
            }
            let open = machine.laneMayLend(now: waiting == 0 ? 0 : MonotonicClock.now)
            if open != lane.isOpen.load(ordering: .relaxed) {
                lane.isOpen.store(open, ordering: .sequentiallyConsistent)
                if !open { drains = true }
            }
            return (result, drains)
        }
        if drains { drainLane() }
        return result
    }

    func act(on action: Machine.ReleaseAction) {
        switch action {
        case .none:
            return
        case .close(let connection):
            factory.close(connection)
        case .handOver(let lent, let waiter):
            resume(waiter, with: .success(lent))
        case .closeAndOpen(let connection, let open):
            factory.close(connection)
            blockingIO { _ = self.runOpen(open) }
        case .wake(let waiter):
            wake(waiter)
        }
    }
}
