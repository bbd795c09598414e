import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The lock-free lane in front of the pool's state machine (HikariCP's `ConcurrentBag` idea).
///
/// A connection given back while nobody starves is parked here instead of going back to the machine: the next
/// checkout claims it with one compare-and-swap, first the slot its thread gave back last (affinity: the same
/// thread keeps meeting the same server process), else the most recently parked one (LIFO). The machine still
/// counts a parked connection as lent (to the lane); it gets it back through `reclaimIdle` when the lane closes
/// (a waiter starves, a task waits, the pool is suspended or shut down) or its epoch changes (eviction, a new
/// generation): connections lent meanwhile then come back through the machine too (closed lane, older epoch).
///
/// One 128-byte block per slot (no false sharing between threads that each use their own connection): a state
/// word `seq << 2 | state` with `state` out (0: the machine's), idle (1), lent (2) or returning (3), and the
/// connection's facts, all atomics. `seq` only grows, so a stale lease never matches a later one. Who holds a
/// lane lease and what it runs (for the leak detector) lives in a `Record` per slot behind its own tiny lock.
final class FastLane<Connection: AnyObject>: @unchecked Sendable {
    // Safety: the blocks hold only atomics; a slot's connection pointer and facts are written before the store
    // that parks it and read after the acquiring CAS that claims it; each `Record` is guarded by its own lock.
    // The machine keeps a strong reference to every connection in the lane until it reclaims the slot.

    enum State: UInt64 {
        case out = 0
        case idle = 1
        case lent = 2
        case returning = 3
    }

    struct Block: ~Copyable {
        let word = Atomic<UInt64>(0)
        /// The machine's `laneEpoch` when the connection was lent by the machine.
        let epoch = Atomic<Int>(0)
        let connection = Atomic<UInt>(0)
        let connectionID = Atomic<Int>(0)
        let machineSeq = Atomic<UInt64>(0)
        let openedAt = Atomic<Int64>(0)
        /// When the current loan (by the machine or the lane) began, for its hold time: precise, or `.min` when
        /// only the coarse clock was read.
        let holdSince = Atomic<Int64>(0)
        /// When the current lane loan began, at least at the coarse clock's resolution.
        let leaseAt = Atomic<Int64>(0)
        /// The thread (`ThreadHabits.id`) whose name alone the `Record` holds (no stack, statement or
        /// long-session mark): its next checkout of this slot need not touch the record. 0: rewrite it.
        let recordOwner = Atomic<UInt>(0)
        let idleSince = Atomic<Int64>(0)
        let checkouts = Atomic<Int>(0)
        let checkins = Atomic<Int>(0)
        /// Guards the slot's `Record`.
        let spin = Atomic<Bool>(false)
        /// Next index in the slot's ring of hold times (written by the owner only).
        let holdNext = Atomic<Int>(0)
    }

    /// Recent hold times per slot (nanoseconds; 0: no sample yet).
    static var holdCapacity: Int { 16 }

    /// Who holds a lane lease, for `checkedOutConnections` and the leak detector. Written by the holder at
    /// checkout and by `recordSQL`/`markExpectedLong`, read by observers, always under the slot's `spin` lock.
    struct Record {
        var context = LeaseContext.empty
        var lastSQL: String?
        var isExpectedLong = false
    }

    static var blockStride: Int { 128 }

    let count: Int
    private let base: UnsafeMutableRawPointer
    /// One `Record` per slot, 128 bytes apart (threads writing their own slot's record share no cache line).
    private let records: UnsafeMutableRawPointer
    private let holds: UnsafeMutablePointer<Atomic<Int64>>
    /// The machine lets the lane lend: running, and no waiter that must be served first. Mirrored from the
    /// machine under its lock after every change.
    let isOpen = Atomic<Bool>(false)
    /// Requests waiting in the machine (mirrored like `isOpen`).
    let waiterCount = Atomic<Int>(0)
    /// The machine's `laneEpoch` (mirrored like `isOpen`).
    let epoch = Atomic<Int>(0)

    init(count: Int) {
        precondition(MemoryLayout<Block>.size <= Self.blockStride)
        self.count = count
        base = .allocate(byteCount: max(1, count) * Self.blockStride, alignment: 64)
        for index in 0..<count {
            (base + index * Self.blockStride).bindMemory(to: Block.self, capacity: 1).initialize(to: Block())
        }
        precondition(MemoryLayout<Record>.stride <= Self.blockStride)
        records = .allocate(byteCount: max(1, count) * Self.blockStride, alignment: 64)
        for index in 0..<count {
            (records + index * Self.blockStride).bindMemory(to: Record.self, capacity: 1).initialize(to: Record())
        }
        holds = UnsafeMutableRawPointer.allocate(
            byteCount: max(1, count) * Self.holdCapacity * MemoryLayout<Atomic<Int64>>.stride, alignment: 64
        ).bindMemory(to: Atomic<Int64>.self, capacity: max(1, count) * Self.holdCapacity)
        for index in 0..<count * Self.holdCapacity { (holds + index).initialize(to: Atomic(0)) }
    }

    deinit {
        for index in 0..<count { block(index).deinitialize(count: 1) }
        base.deallocate()
        for index in 0..<count { record(index).deinitialize(count: 1) }
        records.deallocate()
        holds.deinitialize(count: count * Self.holdCapacity)
        holds.deallocate()
    }

    /// Runs `body` on the record of `slot` under its lock (held for a few stores: spins, then yields).
    @inline(__always)
    func withRecord<T>(_ slot: Int, _ body: (inout Record) -> T) -> T {
        let spin = UnsafePointer(block(slot))
        while spin.pointee.spin.exchange(true, ordering: .acquiring) { sched_yield() }
        defer { spin.pointee.spin.store(false, ordering: .releasing) }
        return body(&record(slot).pointee)
    }

    @inline(__always)
    private func record(_ slot: Int) -> UnsafeMutablePointer<Record> {
        (records + slot * Self.blockStride).assumingMemoryBound(to: Record.self)
    }

    /// Adds a hold time to the ring of `slot` (by its owner).
    @inline(__always)
    func recordHold(_ slot: Int, _ nanoseconds: Int64) {
        let block = block(slot)
        let next = block.pointee.holdNext.load(ordering: .relaxed)
        holds[slot * Self.holdCapacity + next].store(max(1, nanoseconds), ordering: .relaxed)
        block.pointee.holdNext.store((next + 1) & (Self.holdCapacity - 1), ordering: .relaxed)
    }

    @inline(__always)
    func block(_ slot: Int) -> UnsafeMutablePointer<Block> {
        (base + slot * Self.blockStride).assumingMemoryBound(to: Block.self)
    }

    @inline(__always)
    static func word(_ seq: UInt64, _ state: State) -> UInt64 { seq << 2 | state.rawValue }

    /// One more on a counter only the slot's current owner writes (no locked instruction needed).
    @inline(__always)
    static func bump(_ counter: borrowing Atomic<Int>) {
        counter.store(counter.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    // MARK: Claiming

    /// A claimed idle slot: lent from the lane under `seq`.
    struct Claim {
        var slot: Int
        var seq: UInt64
    }

    /// Claims an idle slot: `preferred` first, else the most recently parked one. `nil` when none is idle
    /// (or every attempt lost a race).
    @inline(__always)
    func claim(preferred: Int) -> Claim? {
        if preferred >= 0, preferred < count, let claim = tryClaim(preferred) { return claim }
        return claimMostRecent()
    }

    @inline(__always)
    func tryClaim(_ slot: Int) -> Claim? {
        let block = block(slot)
        let word = block.pointee.word.load(ordering: .relaxed)
        guard word & 3 == State.idle.rawValue else { return nil }
        let seq = (word >> 2) &+ 1
        guard
            block.pointee.word.compareExchange(
                expected: word, desired: Self.word(seq, .lent), ordering: .acquiringAndReleasing
            ).exchanged
        else { return nil }
        return Claim(slot: slot, seq: seq)
    }

    @inline(never)
    private func claimMostRecent() -> Claim? {
        for _ in 0..<3 {
            var best = -1
            var bestSince = Int64.min
            for slot in 0..<count {
                let block = block(slot)
                guard block.pointee.word.load(ordering: .relaxed) & 3 == State.idle.rawValue else { continue }
                let since = block.pointee.idleSince.load(ordering: .relaxed)
                if since > bestSince {
                    best = slot
                    bestSince = since
                }
            }
            guard best >= 0 else { return nil }
            if let claim = tryClaim(best) { return claim }
        }
        return nil
    }

    /// The connection of a slot its caller owns (claimed, or lent by the machine and prepared), not retained.
    @inline(__always)
    func connection(_ slot: Int) -> Unmanaged<Connection> {
        let bits = block(slot).pointee.connection.load(ordering: .relaxed)
        return Unmanaged<Connection>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!)
    }

    /// Records the facts of a connection the machine just lent, so that its checkin can park it here.
    @inline(__always)
    func prepare(
        _ slot: Int, connection: Connection, connectionID: Int, openedAt: Int64, machineSeq: UInt64,
        checkedOutAt: Int64, epoch: Int
    ) {
        let block = block(slot)
        block.pointee.connection.store(
            UInt(bitPattern: Unmanaged.passUnretained(connection).toOpaque()), ordering: .relaxed)
        block.pointee.connectionID.store(connectionID, ordering: .relaxed)
        block.pointee.openedAt.store(openedAt, ordering: .relaxed)
        block.pointee.machineSeq.store(machineSeq, ordering: .relaxed)
        block.pointee.holdSince.store(checkedOutAt, ordering: .relaxed)
        block.pointee.epoch.store(epoch, ordering: .relaxed)
    }

    // MARK: Giving back

    /// The holder of lane lease `seq` starts giving it back; false when it was already given back.
    @inline(__always)
    func beginReturn(_ slot: Int, seq: UInt64) -> Bool {
        block(slot).pointee.word.compareExchange(
            expected: Self.word(seq, .lent), desired: Self.word(seq, .returning), ordering: .acquiringAndReleasing
        ).exchanged
    }

    /// Parks a returning lane lease, or a prepared machine lease (its word is `out`), as idle.
    /// `isCheckin`: count a checkin (false when a claim is only put back).
    @inline(__always)
    func park(_ slot: Int, now: Int64, isCheckin: Bool = true) {
        let block = block(slot)
        block.pointee.idleSince.store(now, ordering: .relaxed)
        if isCheckin { Self.bump(block.pointee.checkins) }
        let seq = block.pointee.word.load(ordering: .relaxed) >> 2
        block.pointee.word.store(Self.word(seq, .idle), ordering: .sequentiallyConsistent)
    }

    /// A returning lane lease leaves the lane for the machine; returns the machine's lease seq.
    @inline(__always)
    func leave(_ slot: Int, seq: UInt64) -> UInt64 {
        let block = block(slot)
        block.pointee.word.store(Self.word(seq, .out), ordering: .releasing)
        return block.pointee.machineSeq.load(ordering: .relaxed)
    }

    /// Takes an idle slot out of the lane for the machine; returns the machine's lease seq, nil if not idle.
    func reclaimIdle(_ slot: Int) -> UInt64? {
        let block = block(slot)
        let word = block.pointee.word.load(ordering: .sequentiallyConsistent)
        guard word & 3 == State.idle.rawValue,
            block.pointee.word.compareExchange(
                expected: word, desired: Self.word(word >> 2, .out), ordering: .sequentiallyConsistent
            ).exchanged
        else { return nil }
        return block.pointee.machineSeq.load(ordering: .relaxed)
    }

    /// The connection in `slot` may be parked: the lane is open and the connection was lent in its epoch.
    @inline(__always)
    func mayPark(_ slot: Int) -> Bool {
        isOpen.load(ordering: .sequentiallyConsistent)
            && block(slot).pointee.epoch.load(ordering: .relaxed) == epoch.load(ordering: .sequentiallyConsistent)
    }

    // MARK: Observation

    /// The state of `slot` now.
    func state(_ slot: Int) -> (state: State, seq: UInt64) {
        let word = block(slot).pointee.word.load(ordering: .acquiring)
        return (State(rawValue: word & 3)!, word >> 2)
    }

    /// Lease `seq` of `slot` is still out (lent, not being given back).
    @inline(__always)
    func isLent(_ slot: Int, seq: UInt64) -> Bool {
        block(slot).pointee.word.load(ordering: .relaxed) == Self.word(seq, .lent)
    }

    /// Idle connections in the lane now.
    func idleCount() -> Int {
        var idle = 0
        for slot in 0..<count where block(slot).pointee.word.load(ordering: .relaxed) & 3 == State.idle.rawValue {
            idle += 1
        }
        return idle
    }

    /// Checkouts and checkins served by the lane so far.
    func totals() -> (checkouts: Int, checkins: Int) {
        var checkouts = 0
        var checkins = 0
        for slot in 0..<count {
            checkouts += block(slot).pointee.checkouts.load(ordering: .relaxed)
            checkins += block(slot).pointee.checkins.load(ordering: .relaxed)
        }
        return (checkouts, checkins)
    }

    /// The recent hold times of connections parked here, every slot's window together.
    func holdSamples() -> [Int64] {
        var samples: [Int64] = []
        for index in 0..<count * Self.holdCapacity {
            let value = holds[index].load(ordering: .relaxed)
            if value > 0 { samples.append(value) }
        }
        return samples
    }
}
