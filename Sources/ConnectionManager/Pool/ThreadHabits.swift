import Synchronization

/// What the pool remembers about one thread's checkouts and checkins, and the decisions it takes from that
/// outside the state machine: whether a connection given back should wake a waiter (`returnsSoon`), when a lane
/// checkout reads the precise clock (`checkoutTime`), the idle stamps of the connections the thread parks
/// (`nextParkStamp`) and the slot it asks for first (`preferredSlot`).
///
/// A value: every decision takes the clock readings it needs as parameters (the precise clock as a closure, read
/// only when the rule calls for it), so tests drive them with made-up times. The pool keeps one per thread in
/// its `ThreadContext`, behind an `UnsafeMutablePointer` that only the owning thread dereferences (no
/// exclusivity checks and no retain on the hot path), and reads the clocks through `checkoutTime(waiting:)`.
struct ThreadHabits {
    /// A thread that comes back for a connection sooner than this after giving one back "returns soon".
    static var returnsSoonNanoseconds: Int64 { 50_000 }
    /// Hands out `id`s: unique per thread for the life of the process.
    static let nextID = Atomic<UInt>(0)

    /// The thread's name (as `ThreadContext.name`).
    var name: String
    /// Unique per thread for the life of the process (never reused, unlike an address).
    let id: UInt
    /// The pool this thread last gave a connection back to, and its slot (affinity: that connection again).
    var affinityPool: ObjectIdentifier?
    var affinitySlot = -1
    /// When this thread last gave a connection back (monotonic ns, 0: never).
    var lastCheckinAt: Int64 = 0
    /// The last time, this thread came back for a connection within `returnsSoonNanoseconds` of giving one
    /// back: it will most likely take the one it gives back now again, so waking a waiter would be in vain.
    var returnsSoon = false
    /// The coarse clock's value at this thread's last precisely timed lane checkout.
    var lastPreciseTick: Int64 = 0
    /// `lastCheckinAt` was read from the precise clock.
    var lastCheckinIsPrecise = false
    /// The last idle-since stamp this thread gave a parked connection: stamps only grow, so the connections
    /// one thread gives back keep their order (LIFO) even within a tick of the coarse clock.
    var lastParkStamp: Int64 = 0

    init(name: String, id: UInt = ThreadHabits.nextID.wrappingAdd(1, ordering: .relaxed).newValue) {
        self.name = name
        self.id = id
    }
}

extension ThreadHabits {
    /// The slot to try first in `pool`: the one this thread gave back last, if it gave it back to this pool
    /// (-1: none). Only the last pool is remembered.
    @inline(__always)
    func preferredSlot(in pool: ObjectIdentifier) -> Int {
        affinityPool == pool ? affinitySlot : -1
    }

    /// A checkout at precise time `now`: it "returns soon" when the last checkin was timed precisely and
    /// happened less than `returnsSoonNanoseconds` before (exactly 50 µs is not soon). An unknown or coarse last
    /// checkin counts as "not coming back soon" (a waiter is woken).
    @inline(__always)
    mutating func noteCheckout(now: Int64) {
        returnsSoon = lastCheckinIsPrecise && now - lastCheckinAt < Self.returnsSoonNanoseconds
    }

    /// The idle-since stamp for a connection parked at `now`: `now`, or one more than the last stamp if `now`
    /// is not later (the coarse clock repeats within a tick; stamps of one thread never repeat or go back).
    @inline(__always)
    mutating func nextParkStamp(_ now: Int64) -> Int64 {
        lastParkStamp = Swift.max(now, lastParkStamp &+ 1)
        return lastParkStamp
    }

    /// The time for a lane checkout, from the coarse clock's reading `coarse` and the precise clock `precise`:
    /// precise (and remembered for the waiter heuristics, `noteCheckout`) whenever requests wait and at most once
    /// per coarse clock tick otherwise — so a thread that checks out rarely is always timed precisely, and a busy
    /// one pays the precise clock on well under 1 % of its checkouts. `precise` is called only then. Returns the
    /// time with whether it is precise; a coarse checkout leaves `returnsSoon` as the last precise one set it.
    @inline(__always)
    mutating func checkoutTime(waiting: Bool, coarse: Int64, precise: () -> Int64) -> (now: Int64, isPrecise: Bool) {
        guard waiting || coarse != lastPreciseTick else { return (coarse, false) }
        lastPreciseTick = coarse
        let now = precise()
        noteCheckout(now: now)
        return (now, true)
    }

    /// A checkin to `pool`'s `slot` at `now` (`isPrecise`: read from the precise clock).
    @inline(__always)
    mutating func noteCheckin(pool: ObjectIdentifier, slot: Int, now: Int64, isPrecise: Bool = true) {
        lastCheckinAt = now
        lastCheckinIsPrecise = isPrecise
        affinityPool = pool
        affinitySlot = slot
    }
}

extension ThreadHabits {
    /// `checkoutTime(waiting:coarse:precise:)` on the monotonic clocks (the one place the habits meet a clock).
    @inline(__always)
    mutating func checkoutTime(waiting: Bool) -> (now: Int64, isPrecise: Bool) {
        checkoutTime(waiting: waiting, coarse: MonotonicClock.coarse, precise: { MonotonicClock.now })
    }
}
