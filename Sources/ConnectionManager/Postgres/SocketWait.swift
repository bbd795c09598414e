import CLibPQ
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Blocks in `poll()` on one socket until it is ready or a monotonic deadline passes (millisecond precision).
enum SocketWait {
    /// Queries waiting for a reply in this process right now.
    static let waiting = Atomic<Int>(0)

    /// Waits for the server's reply. When this is the only query waiting in the process, first yields the CPU
    /// for a short while instead of sleeping: the server process, woken by the query, then tends to run on this
    /// CPU, and neither side pays a wake-up of an idle CPU (≈ 0.1 ms on a virtual machine, more than the query).
    /// At most `spinRounds` yields and `spinNanoseconds` (a loaded CPU can make one yield long); then it sleeps
    /// in `poll()` until the deadline.
    static func waitForReply(_ socket: Int32, until deadline: ContinuousClock.Instant?) -> Outcome {
        let others = waiting.wrappingAdd(1, ordering: .relaxed).oldValue
        defer { waiting.wrappingSubtract(1, ordering: .relaxed) }
        if others == 0, socket >= 0 {
            var descriptor = pollfd(fd: socket, events: Int16(truncatingIfNeeded: POLLIN), revents: 0)
            let stopAt = MonotonicClock.now &+ spinNanoseconds
            for _ in 0..<spinRounds {
                if poll(&descriptor, 1, 0) > 0 {
                    return .ready(
                        readable: descriptor.revents & Int16(truncatingIfNeeded: POLLIN | POLLERR | POLLHUP) != 0)
                }
                sched_yield()
                if MonotonicClock.now > stopAt { break }
            }
        }
        return wait(socket, for: POLLIN, until: deadline)
    }

    /// Whether `socket` has something to read (or an error or hang-up) right now, without waiting.
    static func isReadableNow(_ socket: Int32) -> Bool {
        guard socket >= 0 else { return false }
        var descriptor = pollfd(fd: socket, events: Int16(truncatingIfNeeded: POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) > 0
    }

    static var spinRounds: Int { 64 }
    static var spinNanoseconds: Int64 { 100_000 }

    enum Outcome {
        /// The socket is ready (or has an error or hang-up, which libpq reports on the next read or write).
        case ready(readable: Bool)
        /// The deadline passed first.
        case timedOut
        /// `poll()` itself failed, or there is no socket.
        case failed(String)
    }

    /// Waits for `events` (`POLLIN`, `POLLOUT`) on `socket`; with no deadline, waits as long as it takes.
    static func wait(_ socket: Int32, for events: Int32, until deadline: ContinuousClock.Instant?) -> Outcome {
        guard socket >= 0 else { return .failed("the connection has no socket") }
        var descriptor = pollfd(fd: socket, events: Int16(truncatingIfNeeded: events), revents: 0)
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let remaining = deadline - .now
                guard remaining > .zero else { return .timedOut }
                // Round up: waking before the deadline would only spin through another poll().
                let (seconds, attoseconds) = remaining.components
                let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
                timeout = Int32(clamping: milliseconds)
            }
            let count = poll(&descriptor, 1, timeout)
            if count > 0 {
                return .ready(readable: descriptor.revents & Int16(truncatingIfNeeded: POLLIN | POLLERR | POLLHUP) != 0)
            }
            if count < 0, errno != EINTR {
                return .failed(String(cString: strerror(errno)))
            }
            // Timed out or interrupted: the loop re-checks the deadline.
        }
    }
}
