import Testing

@testable import ConnectionManager

// The per-thread heuristics of the lane, driven with made-up clock readings: no threads, no clocks, no pool.

private let us: Int64 = 1_000
private let ms: Int64 = 1_000_000

/// Stands in for a pool: only its identity counts.
private final class PoolToken {}

/// A precise clock that counts its readings.
private final class PreciseClock {
    var now: Int64
    var reads = 0
    init(_ now: Int64) { self.now = now }
    func read() -> Int64 {
        reads += 1
        return now
    }
}

@Suite("ThreadHabits")
struct ThreadHabitsTests {
    // MARK: returnsSoon: a thread back within 50 µs of its checkin wakes nobody

    @Test func backWithinFiftyMicrosecondsOfAPreciseCheckinReturnsSoon() {
        let pool = PoolToken()
        var habits = ThreadHabits(name: "t")
        habits.noteCheckin(pool: ObjectIdentifier(pool), slot: 0, now: 10 * ms)
        habits.noteCheckout(now: 10 * ms + 50 * us - 1)
        #expect(habits.returnsSoon)
        habits.noteCheckout(now: 10 * ms)
        #expect(habits.returnsSoon, "at the checkin's very time")
        // Exactly 50 µs is not soon.
        habits.noteCheckout(now: 10 * ms + 50 * us)
        #expect(!habits.returnsSoon)
        habits.noteCheckout(now: 10 * ms + 1 * ms)
        #expect(!habits.returnsSoon)
        #expect(ThreadHabits.returnsSoonNanoseconds == 50 * us)
    }

    @Test func aCoarseOrMissingCheckinNeverReturnsSoon() {
        let pool = PoolToken()
        // Never checked in (0 is "never", not a time 0 ns ago).
        var fresh = ThreadHabits(name: "t")
        fresh.noteCheckout(now: 1)
        #expect(!fresh.returnsSoon)
        // A checkin timed by the coarse clock says nothing precise enough: a waiter is woken.
        var habits = ThreadHabits(name: "t")
        habits.noteCheckin(pool: ObjectIdentifier(pool), slot: 0, now: 10 * ms, isPrecise: false)
        habits.noteCheckout(now: 10 * ms + 1)
        #expect(!habits.returnsSoon)
        // The next precise checkin counts again.
        habits.noteCheckin(pool: ObjectIdentifier(pool), slot: 0, now: 20 * ms)
        habits.noteCheckout(now: 20 * ms + 1)
        #expect(habits.returnsSoon)
    }

    // MARK: checkoutTime: the precise clock at most once per coarse tick, unless requests wait

    @Test func thePreciseClockIsReadOncePerCoarseTick() {
        var habits = ThreadHabits(name: "t")
        let clock = PreciseClock(4 * ms + 123)
        // The first checkout of a tick is timed precisely.
        var time = habits.checkoutTime(waiting: false, coarse: 4 * ms, precise: clock.read)
        #expect(time == (4 * ms + 123, true) && clock.reads == 1)
        // Within the same tick: the coarse reading, and the precise clock is not read.
        clock.now = 4 * ms + 900 * us
        time = habits.checkoutTime(waiting: false, coarse: 4 * ms, precise: clock.read)
        #expect(time == (4 * ms, false) && clock.reads == 1)
        time = habits.checkoutTime(waiting: false, coarse: 4 * ms, precise: clock.read)
        #expect(time == (4 * ms, false) && clock.reads == 1)
        // The tick changes: precise again, once.
        clock.now = 8 * ms + 5
        time = habits.checkoutTime(waiting: false, coarse: 8 * ms, precise: clock.read)
        #expect(time == (8 * ms + 5, true) && clock.reads == 2)
        time = habits.checkoutTime(waiting: false, coarse: 8 * ms, precise: clock.read)
        #expect(time == (8 * ms, false) && clock.reads == 2)
        #expect(habits.lastPreciseTick == 8 * ms)
    }

    @Test func whileRequestsWaitEveryCheckoutIsTimedPrecisely() {
        var habits = ThreadHabits(name: "t")
        let clock = PreciseClock(4 * ms + 1)
        _ = habits.checkoutTime(waiting: false, coarse: 4 * ms, precise: clock.read)
        for step in 1...3 {
            clock.now = 4 * ms + Int64(step) * 10 * us
            let time = habits.checkoutTime(waiting: true, coarse: 4 * ms, precise: clock.read)
            #expect(time == (clock.now, true))
        }
        #expect(clock.reads == 4)
        // Nobody waits any more: this tick was timed already.
        #expect(habits.checkoutTime(waiting: false, coarse: 4 * ms, precise: clock.read) == (4 * ms, false))
        #expect(clock.reads == 4)
    }

    @Test func onlyPreciseCheckoutsUpdateTheReturnsSoonVerdict() {
        let pool = PoolToken()
        var habits = ThreadHabits(name: "t")
        let clock = PreciseClock(0)
        habits.noteCheckin(pool: ObjectIdentifier(pool), slot: 0, now: 4 * ms + 100 * us)
        clock.now = 4 * ms + 110 * us
        _ = habits.checkoutTime(waiting: false, coarse: 4 * ms, precise: clock.read)
        #expect(habits.returnsSoon, "back 10 µs after its checkin")
        // Given back again and taken 2 ms later within the same tick: timed coarsely, the verdict stays.
        habits.noteCheckin(pool: ObjectIdentifier(pool), slot: 0, now: 4 * ms, isPrecise: false)
        _ = habits.checkoutTime(waiting: false, coarse: 4 * ms, precise: clock.read)
        #expect(habits.returnsSoon && clock.reads == 1)
        // The next tick's precise checkout sees the coarse checkin: not soon.
        clock.now = 8 * ms + 1
        _ = habits.checkoutTime(waiting: false, coarse: 8 * ms, precise: clock.read)
        #expect(!habits.returnsSoon && clock.reads == 2)
    }

    // MARK: nextParkStamp: one thread's stamps only grow

    @Test(
        arguments: [
            // (readings, stamps)
            ([10, 20, 30], [10, 20, 30]),
            ([10, 10, 10], [10, 11, 12]),
            ([10, 5, 11, 40], [10, 11, 12, 40]),
            ([100, 0, 0, 101, 103], [100, 101, 102, 103, 104]),
        ] as [([Int64], [Int64])])
    func parkStampsAreStrictlyIncreasingWhateverTheClockSays(readings: [Int64], stamps: [Int64]) {
        var habits = ThreadHabits(name: "t")
        #expect(readings.map { habits.nextParkStamp($0) } == stamps)
        #expect(habits.lastParkStamp == stamps.last)
    }

    @Test func parkStampsArePerThread() {
        var first = ThreadHabits(name: "a")
        var second = ThreadHabits(name: "b")
        #expect(first.nextParkStamp(10) == 10 && first.nextParkStamp(10) == 11)
        // Another thread's stamps do not push this one's: the order holds per thread only.
        #expect(second.nextParkStamp(10) == 10)
    }

    // MARK: preferredSlot: affinity to the slot given back last, per pool

    @Test func affinityIsTheSlotLastGivenBackToThatPool() {
        let one = PoolToken()
        let two = PoolToken()
        var habits = ThreadHabits(name: "t")
        #expect(habits.preferredSlot(in: ObjectIdentifier(one)) == -1, "no checkin yet")
        habits.noteCheckin(pool: ObjectIdentifier(one), slot: 3, now: 1)
        #expect(habits.preferredSlot(in: ObjectIdentifier(one)) == 3)
        #expect(habits.preferredSlot(in: ObjectIdentifier(two)) == -1)
        // A checkin to another pool replaces it: only the last pool is remembered.
        habits.noteCheckin(pool: ObjectIdentifier(two), slot: 5, now: 2, isPrecise: false)
        #expect(habits.preferredSlot(in: ObjectIdentifier(one)) == -1)
        #expect(habits.preferredSlot(in: ObjectIdentifier(two)) == 5)
        habits.noteCheckin(pool: ObjectIdentifier(two), slot: 0, now: 3)
        #expect(habits.preferredSlot(in: ObjectIdentifier(two)) == 0)
    }

    @Test func everyValueGetsItsOwnID() {
        let a = ThreadHabits(name: "a")
        let b = ThreadHabits(name: "b")
        #expect(a.id != 0 && b.id != 0 && a.id != b.id)
        #expect(ThreadHabits(name: "c", id: 7).id == 7)
    }
}
