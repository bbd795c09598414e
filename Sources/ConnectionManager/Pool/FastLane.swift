import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Who took a loan: the thread's name and, when asked for, its stack (the holder's `FastLane.Record`).
struct LeaseContext: Sendable {
    var threadName: String
    var stack: CapturedStack?

    static let empty = LeaseContext(threadName: "", stack: nil)
}

/// The pool's slot table of loans, and the lock-free lane in front of its state machine (HikariCP's
/// `ConcurrentBag` idea).
///
/// Every loan of a connection, whether the machine or the lane lent it, is one value of the slot's state word:
/// `lent` with the loan's seq. Its checkin is one compare-and-swap of that word (a second checkin, or one of an
/// older loan, finds it changed), and its holder facts (who, since when, the last statement, the stack, the
/// long-session mark, its wait and hold times, the counts) live in the slot's block and `Record`, written by the
/// holder. The machine only knows the slot is out.
///
/// A connection given back while nobody starves is parked here instead of going back to the machine: the next
/// checkout claims it with one compare-and-swap, first the slot its thread gave back last (affinity: the same
/// thread keeps meeting the same server process), else the most recently parked one (LIFO). The machine still
/// counts a parked connection as lent (to the lane); it gets it back through `reclaimIdle` when the lane closes
/// (a waiter starves or cannot retry, connects fail, the pool is suspended or shut down) or its epoch changes (eviction, a new
/// generation): connections lent meanwhile then come back through the machine too (closed lane, older epoch).
///
/// One 128-byte block per slot (no false sharing between threads that each use their own connection): a state
/// word `seq << 2 | state` with `state` out (0: the machine's), idle (1), lent (2) or returning (3), and the
/// connection's facts, all atomics. `seq` only grows, so a stale lease never matches a later one. Who holds a
/// loan and what it runs (for the leak detector) lives in a `Record` per slot behind its own tiny lock. A loan
/// the machine made starts with `lend` (out → lent) instead of a claim (idle → lent); from there on both kinds are
/// the same: given back by `beginReturn`, then parked or handed to the machine (`leave`).
///
/// Memory ordering (each atomic operation says at its site what it pairs with and what a weaker one would break):
/// - Publication (release, then acquire). A block's facts (connection pointer, ids, times, epoch, its counters and
///   hold ring) are relaxed atomics with one writer at a time: the slot's owner. It writes them before the store
///   in `park`; the next owner reads them after the compare-and-swap in `tryClaim` (or `reclaimIdle`) that read
///   that store. Ownership passes only so, through the machine's lock (`leave`, `connectionReleased`, a new
///   loan's `lend`) or with the lease itself (by whatever hands it to another thread), never by a relaxed
///   operation.
/// - Who wins (compare-and-swap on the state word with the expected seq): claim (idle → lent), give back
///   (lent → returning) and reclaim (idle → out). Of racing threads exactly one takes a slot, a second checkin of a
///   lease finds the word changed, a stale lease never matches. `park` (returning or out → idle) and `leave`
///   (returning → out) are plain stores: only the owner writes the word in those states.
/// - Nothing stranded (two Dekker pairs: each side stores, then loads what the other side stored; both sides
///   sequentially consistent, so in their one total order one store comes first and the other side's load sees
///   it). (1) `park` stores idle, then `mayPark` loads `isOpen` and `epoch`; the shell stores `isOpen`/`epoch`
///   (`ConnectionPool.withMachine`, under the lock), then `drainLane` loads each word (`reclaimIdle`): the parker
///   gives its connection back to the machine, or the drain does. (2) `park` stores idle, then `afterPark` loads
///   `waiterCount`; a request that starts waiting stores `waiterCount` (`withMachine`), then `retry` loads
///   `isOpen` and claims: the parker wakes a waiter, or the request finds the connection (the claim's own loads
///   of the words are relaxed: see `ConnectionPool.retry` for why that holds). With release/acquire
///   only, a store may still sit in the store buffer when the later load runs, both loads can read the old values,
///   and (1) leaves a connection parked in a closed lane, lent to nobody, until the lane drains again; (2) lets a
///   request sleep beside a parked connection until it retries at its starvation bound (5–20 ms).
/// - Observers: `state`'s acquiring load pairs with the releases of the word's writers (park, the claim and
///   give-back compare-and-swaps), so a lane loan listed by `ConnectionPool.checkedOutConnections` never shows an
///   earlier loan's `leaseAt`: it reads `leaseNotStarted` (and is skipped) until the claimer has made it its lease.
/// - Hints (relaxed, no pairing): the checkout's first `isOpen`/`waiterCount` loads, `claimMostRecent`'s scan and
///   the observers (`isLent`, `idleCount`, `totals`, `holdSamples`). A stale value costs a detour through the
///   machine, a less recent slot or an approximate gauge, never a wrong lease: the compare-and-swap decides.
final class FastLane<Connection: AnyObject>: @unchecked Sendable {
    // Safety: the blocks hold only atomics; a slot's connection pointer and facts are written before the store
    // that parks it and read after the acquiring CAS that claims it (see "Memory ordering" above); each `Record`
    // is guarded by its own lock. The machine keeps a strong reference to every connection in the lane until it
    // reclaims the slot.

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
        /// The machine's generation of the connection (for the holder's `CheckoutRecord`).
        let generation = Atomic<Int>(0)
        let openedAt = Atomic<Int64>(0)
        /// When the current loan (by the machine or the lane) began, for its hold time: precise, or `.min` when
        /// only the coarse clock was read.
        let holdSince = Atomic<Int64>(0)
        /// When the current loan began, at least at the coarse clock's resolution; `leaseNotStarted` from the
        /// park until the claimer has checked the connection and made it its lease (`ConnectionPool.laneLease`).
        /// Stored with release after the `Record` (an observer that reads it with acquire sees this loan's record).
        let leaseAt = Atomic<Int64>(0)
        /// The thread (`ThreadHabits.id`) whose name alone the `Record` holds (no stack, statement or
        /// long-session mark): its next checkout of this slot need not touch the record. 0: rewrite it.
        let recordOwner = Atomic<UInt>(0)
        let idleSince = Atomic<Int64>(0)
        let checkouts = Atomic<Int>(0)
        let checkins = Atomic<Int>(0)
        /// Guards the slot's `Record`.
        let spin = Atomic<Bool>(false)
        let backendPID = Atomic<Int32>(0)
        /// Next index in the slot's ring of hold times, and of wait times (written by the owner only).
        let holdNext = Atomic<Int>(0)
        let waitNext = Atomic<Int>(0)
    }

    /// Recent hold and wait times per slot (nanoseconds; `noSample`: none yet). A power of two.
    static var windowCapacity: Int { 64 }
    static var noSample: Int64 { -1 }

    /// `Block.leaseAt` of a slot parked or claimed but not yet lent: the claimer may still be checking it (the
    /// recycle age, a pre-ping round trip), and the record still describes an earlier loan.
    static var leaseNotStarted: Int64 { .max }

    /// Who holds a loan, for `checkedOutConnections` and the leak detector. Written by the holder at
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
    /// The windows of hold and wait times, `windowCapacity` samples per slot each.
    private let holds: UnsafeMutablePointer<Atomic<Int64>>
    private let waits: UnsafeMutablePointer<Atomic<Int64>>
    /// The machine lets the lane lend: running, and no waiter that must be served first. Mirrored from the
    /// machine under its lock after every change (`ConnectionPool.withMachine`: sequentially consistent stores,
    /// the closing side of Dekker pair (1); loaded sequentially consistently by `mayPark` and the waiter's
    /// `retry`, relaxed as a hint by a checkout's first look).
    let isOpen = Atomic<Bool>(false)
    /// Requests waiting in the machine (mirrored like `isOpen`; the waiting side of Dekker pair (2), loaded
    /// sequentially consistently by `afterPark`, relaxed by the clock heuristics).
    let waiterCount = Atomic<Int>(0)
    /// The machine's `laneEpoch` (mirrored like `isOpen`; Dekker pair (1) with `mayPark`).
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
        holds = Self.allocateWindow(count)
        waits = Self.allocateWindow(count)
    }

    private static func allocateWindow(_ count: Int) -> UnsafeMutablePointer<Atomic<Int64>> {
        let samples = max(1, count) * windowCapacity
        let window = UnsafeMutableRawPointer.allocate(
            byteCount: samples * MemoryLayout<Atomic<Int64>>.stride, alignment: 64
        ).bindMemory(to: Atomic<Int64>.self, capacity: samples)
        for index in 0..<samples { (window + index).initialize(to: Atomic(noSample)) }
        return window
    }

    deinit {
        for index in 0..<count { block(index).deinitialize(count: 1) }
        base.deallocate()
        for index in 0..<count { record(index).deinitialize(count: 1) }
        records.deallocate()
        for window in [holds, waits] {
            window.deinitialize(count: max(1, count) * Self.windowCapacity)
            window.deallocate()
        }
    }

    /// Starts the holder's record of a new loan of `slot` (by its owner): who took it, no statement yet, not
    /// expected long. `owner`: the thread (`ThreadHabits.id`) whose name alone the record now holds, so that its
    /// next checkout of the slot may leave the record alone; 0 when the record holds more (a stack) or the loan
    /// is the machine's.
    @inline(__always)
    func startRecord(_ slot: Int, context: LeaseContext, owner: UInt) {
        withRecord(slot) { record in
            record.context = context
            record.lastSQL = nil
            record.isExpectedLong = false
        }
        block(slot).pointee.recordOwner.store(owner, ordering: .relaxed)
    }

    /// Runs `body` on the record of `slot` under its lock (held for a few stores: spins, then yields).
    @inline(__always)
    func withRecord<T>(_ slot: Int, _ body: (inout Record) -> T) -> T {
        let spin = UnsafePointer(block(slot))
        // A lock: this acquiring exchange pairs with the previous holder's releasing store below. Weaker, a reader
        // could see a `Record` half written (its strings and stack are reference counted: a torn reference crashes).
        while spin.pointee.spin.exchange(true, ordering: .acquiring) { sched_yield() }
        defer { spin.pointee.spin.store(false, ordering: .releasing) }
        return body(&record(slot).pointee)
    }

    @inline(__always)
    private func record(_ slot: Int) -> UnsafeMutablePointer<Record> {
        (records + slot * Self.blockStride).assumingMemoryBound(to: Record.self)
    }

    /// A checkin of the loan of `slot` (by its owner): counted, and its hold time added to the slot's window
    /// unless it is not known precisely (`heldSince == .min`: the checkout read only the coarse clock).
    @inline(__always)
    func recordCheckin(_ slot: Int, heldSince: Int64, now: Int64) {
        let block = block(slot)
        Self.bump(block.pointee.checkins)
        if heldSince != .min { Self.record(max(0, now &- heldSince), in: holds, slot, next: block.pointee.holdNext) }
    }

    /// A checkout of `slot` (by its new owner): counted, and how long it waited added to the slot's window.
    @inline(__always)
    func recordCheckout(_ slot: Int, waited: Int64) {
        let block = block(slot)
        Self.bump(block.pointee.checkouts)
        Self.record(max(0, waited), in: waits, slot, next: block.pointee.waitNext)
    }

    /// Adds a sample to the window of `slot`. Relaxed: one writer (the owner, passed on as the block's facts
    /// are); an observer may read a sample from before or after this one, each whole.
    @inline(__always)
    private static func record(
        _ nanoseconds: Int64, in window: UnsafeMutablePointer<Atomic<Int64>>, _ slot: Int,
        next: borrowing Atomic<Int>
    ) {
        let index = next.load(ordering: .relaxed)
        window[slot * windowCapacity + index].store(nanoseconds, ordering: .relaxed)
        next.store((index + 1) & (windowCapacity - 1), ordering: .relaxed)
    }

    @inline(__always)
    func block(_ slot: Int) -> UnsafeMutablePointer<Block> {
        (base + slot * Self.blockStride).assumingMemoryBound(to: Block.self)
    }

    @inline(__always)
    static func word(_ seq: UInt64, _ state: State) -> UInt64 { seq << 2 | state.rawValue }

    /// One more on a counter only the slot's current owner writes (no locked instruction needed). A load and a
    /// store, not an atomic add: correct because the next owner sees this store through the hand-over (park's
    /// store → the claim's acquire, or the machine's lock); two owners at once would lose counts.
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
        // A hint (relaxed): the compare-and-swap below decides, with this value as its expectation.
        let word = block.pointee.word.load(ordering: .relaxed)
        guard word & 3 == State.idle.rawValue else { return nil }
        let seq = (word >> 2) &+ 1
        // Who wins: of racing claimers and a `reclaimIdle`, one. Acquire: pairs with the store in `park` that made
        // this word idle, so the facts its owner wrote (connection pointer, idle stamp, epoch, counters) are visible
        // here. Relaxed, a claimer could read the pointer of a connection the machine closed and replaced in this
        // slot since (use after free) or an old epoch. Release: passes `park`'s facts on to an observer whose
        // acquiring `state` load reads this word — `leaseAt` is then `leaseNotStarted` or this loan's start, never
        // an earlier loan's (`ConnectionPool.checkedOutConnections`).
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
            // Hints (relaxed): a slot seen idle here may be taken meanwhile, and a stale stamp may pick a less recent
            // slot (LIFO is best effort); `tryClaim`'s compare-and-swap decides.
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

    /// The connection of a slot its caller owns (claimed, or lent by the machine and started by `lend`), not retained.
    /// Relaxed: the owner's claim (acquire) or its own `lend` ordered the pointer before this load.
    @inline(__always)
    func connection(_ slot: Int) -> Unmanaged<Connection> {
        let bits = block(slot).pointee.connection.load(ordering: .relaxed)
        return Unmanaged<Connection>.fromOpaque(UnsafeRawPointer(bitPattern: bits)!)
    }

    /// Starts the loan of a connection the machine just lent in `slot` (its word is `out`: the caller owns the
    /// slot): its facts and the holder's record, then the word `lent` with the next seq, which it returns. From
    /// here on the loan is given back as a lane loan is (`beginReturn`), and may be parked.
    func lend(_ slot: Int, _ lent: LentConnection<Connection>, context: LeaseContext) -> UInt64 {
        let block = block(slot)
        // Relaxed stores: the word is `out`, so no other thread reads these as facts until the store below
        // publishes them (observers skip a slot that is out; a claimer only takes an idle one).
        block.pointee.connection.store(
            UInt(bitPattern: Unmanaged.passUnretained(lent.connection).toOpaque()), ordering: .relaxed)
        block.pointee.connectionID.store(lent.connectionID, ordering: .relaxed)
        block.pointee.backendPID.store(lent.backendPID, ordering: .relaxed)
        block.pointee.generation.store(lent.generation, ordering: .relaxed)
        block.pointee.openedAt.store(lent.openedAt, ordering: .relaxed)
        block.pointee.holdSince.store(lent.checkedOutAt, ordering: .relaxed)
        block.pointee.leaseAt.store(lent.checkedOutAt, ordering: .relaxed)
        block.pointee.epoch.store(lent.laneEpoch, ordering: .relaxed)
        startRecord(slot, context: context, owner: 0)
        recordCheckout(slot, waited: lent.waited)
        // Relaxed: the word is `out`, written last by `leave` or `reclaimIdle` before the machine took the slot
        // back under its lock, which ordered that before this loan. Release: publishes the facts above to the
        // checkin's acquiring compare-and-swap (on any thread) and to an observer's acquiring `state` load.
        let seq = (block.pointee.word.load(ordering: .relaxed) >> 2) &+ 1
        block.pointee.word.store(Self.word(seq, .lent), ordering: .releasing)
        return seq
    }

    // MARK: Giving back

    /// The holder of loan `seq` starts giving it back; false when it was already given back.
    ///
    /// Who wins: the compare-and-swap alone makes a second checkin of a lease (or one of an older seq) do nothing,
    /// and keeps `reclaimIdle` and claimers off a slot being given back. Its acquire half pairs with the claim's
    /// release, which covers only what came before the claim; the holder's own later writes (`holdSince`,
    /// `leaseAt`) reach this thread by program order or by whatever handed it the lease. Its release half passes
    /// this loan's `leaseAt` on to an observer whose acquiring `state` load reads `returning`.
    @inline(__always)
    func beginReturn(_ slot: Int, seq: UInt64) -> Bool {
        block(slot).pointee.word.compareExchange(
            expected: Self.word(seq, .lent), desired: Self.word(seq, .returning), ordering: .acquiringAndReleasing
        ).exchanged
    }

    /// Parks a returning loan as idle.
    @inline(__always)
    func park(_ slot: Int, now: Int64) {
        let block = block(slot)
        // The facts, relaxed: published by the store of the word below.
        block.pointee.idleSince.store(now, ordering: .relaxed)
        block.pointee.leaseAt.store(Self.leaseNotStarted, ordering: .relaxed)
        // Relaxed: only the owner writes the word while it is returning (its own `beginReturn`), so this reads
        // that value.
        let seq = block.pointee.word.load(ordering: .relaxed) >> 2
        // Release: pairs with the acquiring compare-and-swap of the next `tryClaim` or `reclaimIdle` (publication).
        // Sequentially consistent: the store half of both Dekker pairs — the caller loads `isOpen`/`epoch`
        // (`mayPark`) and `waiterCount` after it (`ConnectionPool.afterPark`), while the shell stores those before
        // it drains or a request looks at the lane. A release store could still be in the store buffer when those
        // loads run: a connection parked in a lane that just closed, with neither side reclaiming it.
        block.pointee.word.store(Self.word(seq, .idle), ordering: .sequentiallyConsistent)
    }

    /// A returning loan leaves the lane for the machine (call `connectionReleased` next).
    @inline(__always)
    func leave(_ slot: Int, seq: UInt64) {
        // Before the machine hears of it: the next holder (lent by the machine, after this thread's
        // `connectionReleased` under the lock) continues this seq in `lend`. The lock is what orders the two (the
        // release here adds nothing to it); nobody reads block facts after seeing `out`.
        block(slot).pointee.word.store(Self.word(seq, .out), ordering: .releasing)
    }

    /// Takes an idle slot out of the lane for the machine (call `connectionReleased` next); false if not idle.
    func reclaimIdle(_ slot: Int) -> Bool {
        let block = block(slot)
        // Sequentially consistent: the load half of Dekker pair (1) on the closing side — the shell stored
        // `isOpen`/`epoch` before it drains, a parker stores the word before it loads them (`park`). Relaxed or
        // acquire, it could read the word from before a concurrent park, skip the slot, while the parker read the
        // old `isOpen`: a connection stranded in a closed lane.
        let word = block.pointee.word.load(ordering: .sequentiallyConsistent)
        // The compare-and-swap: who wins against claimers (one of them or the drain takes the slot). It needs
        // acquire (pairs with `park`'s store: `idleSince`, read next by `ConnectionPool.reclaim`, is the parked
        // loan's; weaker, the machine could take a connection parked for minutes as just returned and skip its
        // pre-ping). Sequentially consistent like the load before.
        guard word & 3 == State.idle.rawValue else { return false }
        return block.pointee.word.compareExchange(
            expected: word, desired: Self.word(word >> 2, .out), ordering: .sequentiallyConsistent
        ).exchanged
    }

    /// The connection in `slot` may be parked: the lane is open and the connection was lent in its epoch.
    ///
    /// Sequentially consistent loads of `isOpen` and `epoch`: after `park`'s store (`ConnectionPool.afterPark`),
    /// the load half of Dekker pair (1) on the parking side, paired with `withMachine`'s stores and the drain's
    /// loads of the word (see `reclaimIdle`). Called before parking too, where it is only a filter. The slot's
    /// own `epoch` is relaxed: the loan's `lend` wrote it, ordered before by the claim or the word.
    @inline(__always)
    func mayPark(_ slot: Int) -> Bool {
        isOpen.load(ordering: .sequentiallyConsistent)
            && block(slot).pointee.epoch.load(ordering: .relaxed) == epoch.load(ordering: .sequentiallyConsistent)
    }

    // MARK: Observation

    /// The state of `slot` now. Acquire: pairs with the stores and compare-and-swaps of the word, so an observer
    /// sees the block at least as its writer left it when it wrote this state (after a claim: `leaseAt` is
    /// `leaseNotStarted` or the new loan's start) — and maybe newer: `ConnectionPool.checkedOutConnections`
    /// reads the word again after reading the rest.
    func state(_ slot: Int) -> (state: State, seq: UInt64) {
        let word = block(slot).pointee.word.load(ordering: .acquiring)
        return (State(rawValue: word & 3)!, word >> 2)
    }

    /// Lease `seq` of `slot` is still out (lent, not being given back). Relaxed: exact on the holder's thread
    /// (its own claim and `beginReturn`), a hint elsewhere.
    @inline(__always)
    func isLent(_ slot: Int, seq: UInt64) -> Bool {
        block(slot).pointee.word.load(ordering: .relaxed) == Self.word(seq, .lent)
    }

    /// Idle connections in the lane now (relaxed: a gauge; slots may be claimed or parked while it counts).
    func idleCount() -> Int {
        var idle = 0
        for slot in 0..<count where block(slot).pointee.word.load(ordering: .relaxed) & 3 == State.idle.rawValue {
            idle += 1
        }
        return idle
    }

    /// Checkouts and checkins served by the lane so far (relaxed: monotonic counters, read in no particular order).
    func totals() -> (checkouts: Int, checkins: Int) {
        var checkouts = 0
        var checkins = 0
        for slot in 0..<count {
            checkouts += block(slot).pointee.checkouts.load(ordering: .relaxed)
            checkins += block(slot).pointee.checkins.load(ordering: .relaxed)
        }
        return (checkouts, checkins)
    }

    /// The recent hold times of every slot's loans, their windows together.
    func holdSamples() -> [Int64] { samples(of: holds) }

    /// How long the recent loans of every slot waited for their connection, the windows together.
    func waitSamples() -> [Int64] { samples(of: waits) }

    private func samples(of window: UnsafeMutablePointer<Atomic<Int64>>) -> [Int64] {
        var samples: [Int64] = []
        samples.reserveCapacity(count * Self.windowCapacity)
        for index in 0..<count * Self.windowCapacity {
            let value = window[index].load(ordering: .relaxed)
            if value != Self.noSample { samples.append(value) }
        }
        return samples
    }
}
