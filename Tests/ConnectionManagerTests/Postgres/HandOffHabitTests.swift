import Testing

@testable import ConnectionManager

/// When a task's statement gives its CPU to the server before yielding to other tasks (`HandOffHabit`).
@Suite("HandOffHabit")
struct HandOffHabitTests {
    /// Runs `count` statements whose hand-offs all find (`hit`) or miss the reply; returns how many handed off.
    private func statements(_ count: Int, hit: Bool, _ habit: inout HandOffHabit) -> Int {
        var handedOff = 0
        for _ in 0..<count where habit.shouldHandOff() {
            handedOff += 1
            habit.handedOff(hit: hit)
        }
        return handedOff
    }

    @Test func aNewConnectionHandsOffAndHitsKeepItSo() {
        var habit = HandOffHabit()
        let allHit = statements(1_000, hit: true, &habit)
        #expect(allHit == 1_000)
        #expect(habit == HandOffHabit())
    }

    @Test func missesInARowStopItUntilATryAfterThePause() {
        var habit = HandOffHabit()
        let untilTheLimit = statements(HandOffHabit.missLimit, hit: false, &habit)
        #expect(untilTheLimit == HandOffHabit.missLimit)
        #expect(habit.pauseLeft == HandOffHabit.initialPause)
        // The pause: that many statements without a hand-off, then one try.
        let duringThePause = statements(HandOffHabit.initialPause, hit: false, &habit)
        #expect(duringThePause == 0)
        let tries = habit.shouldHandOff()
        #expect(tries)
    }

    @Test func failedTriesDoubleThePauseUpToItsMaximum() {
        var habit = HandOffHabit()
        _ = statements(HandOffHabit.missLimit, hit: false, &habit)
        var pauses: [Int] = []
        for _ in 0..<10 {
            pauses.append(habit.pauseLeft)
            let duringThePause = statements(habit.pauseLeft, hit: false, &habit)
            #expect(duringThePause == 0)
            // The try misses: paused again at once.
            let theTry = statements(1, hit: false, &habit)
            #expect(theTry == 1)
        }
        #expect(pauses == [64, 128, 256, 512, 1_024, 2_048, 4_096, 4_096, 4_096, 4_096])
        #expect(HandOffHabit.initialPause == 64 && HandOffHabit.maximumPause == 4_096)
    }

    @Test func aHitOnATryResumesItWithTheShortPauseAgain() {
        var habit = HandOffHabit()
        _ = statements(HandOffHabit.missLimit, hit: false, &habit)
        _ = statements(habit.pauseLeft, hit: false, &habit)
        _ = statements(1, hit: false, &habit)  // a failed try: the next pause is longer
        _ = statements(habit.pauseLeft, hit: false, &habit)
        let theTry = statements(1, hit: true, &habit)
        #expect(theTry == 1)
        let afterwards = statements(100, hit: true, &habit)
        #expect(afterwards == 100)
        // The next streak of misses pauses for the initial time, not the doubled one.
        _ = statements(HandOffHabit.missLimit, hit: false, &habit)
        #expect(habit.pauseLeft == HandOffHabit.initialPause)
    }

    @Test func missesBrokenByAHitDoNotStopIt() {
        var habit = HandOffHabit()
        for _ in 0..<20 {
            let missed = statements(HandOffHabit.missLimit - 1, hit: false, &habit)
            #expect(missed == HandOffHabit.missLimit - 1)
            let hit = statements(1, hit: true, &habit)
            #expect(hit == 1)
        }
        #expect(habit.pauseLeft == 0)
    }
}
