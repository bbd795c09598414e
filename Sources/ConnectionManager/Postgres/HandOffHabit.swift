/// Whether a task's statement, right after it is sent, gives its CPU to whoever is waiting for one
/// (`sched_yield`) before it yields to other tasks: learned per connection from whether that found the reply.
///
/// A server on the same machine is woken by the statement's bytes, and the kernel puts it on the sender's CPU
/// (a socket's wake-up is synchronous). A thread that then sleeps in `poll` lets it run there at once, and its
/// reply wakes the thread on that CPU again: the pair never crosses CPUs. A cooperative thread does not sleep
/// (it runs other tasks), so the server used to run on another CPU, and the reply crossed back through the
/// reactor's thread: inter-processor interrupts, a VM exit each on a virtual machine (BENCHMARKS.md, seventh
/// session). One `sched_yield` hands the server this CPU, and a short statement's reply is in the socket when it
/// returns, read without a wait.
///
/// Against a server elsewhere the reply is a network round trip away and the yield finds nothing: after
/// `missLimit` misses in a row the habit stops, and tries once more after `initialPause` statements, twice as
/// long after each failed try, at most `maximumPause`. A hit resumes it. Pure: one holder at a time uses a
/// connection (its `statementTurn`), so no lock.
struct HandOffHabit: Equatable {
    /// Misses in a row that stop the habit.
    static var missLimit: Int { 8 }
    /// Statements without a hand-off after the habit stops, before one try; doubled after each failed try.
    static var initialPause: Int { 64 }
    /// The longest pause: a remote server costs one syscall per 4,096 statements.
    static var maximumPause: Int { 4_096 }

    private(set) var misses = 0
    /// Statements left without a hand-off before the next try (0: handing off).
    private(set) var pauseLeft = 0
    /// The pause after the next failed try.
    private(set) var nextPause = HandOffHabit.initialPause

    /// Whether this statement hands its CPU off; while paused, counts the statement towards the next try.
    mutating func shouldHandOff() -> Bool {
        guard pauseLeft > 0 else { return true }
        pauseLeft -= 1
        return false
    }

    /// What the hand-off found: the reply (`hit`), or nothing yet.
    mutating func handedOff(hit: Bool) {
        if hit {
            misses = 0
            nextPause = Self.initialPause
            return
        }
        misses += 1
        // Misses stay counted until a hit, so a failed try after a pause pauses again at once, for longer.
        if misses >= Self.missLimit {
            pauseLeft = nextPause
            nextPause = min(nextPause * 2, Self.maximumPause)
        }
    }
}
