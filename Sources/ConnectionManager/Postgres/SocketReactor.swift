import CLibPQ
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where tasks wait for their connections' sockets: one thread in `epoll_wait` for the whole process.
///
/// A task's statement is sent from the task itself (libpq's sends do not block: the connection is in
/// non-blocking mode), then the task suspends here until the reply is readable or its deadline passes, and
/// reads the reply when it resumes (after handing its CPU to the server and yielding twice first, in case the
/// reply comes at once:
/// `PostgresConnection.replyArrivesWhileYielding`). No thread blocks per waiting statement, and a statement costs no hop to a
/// thread of its own: the reactor's one wake per batch of replies, then the task's resume on its executor (the
/// cooperative pool, already running under load, or this thread for tasks that prefer it). Each socket is armed one-shot (`EPOLLONESHOT`) per wait, so an
/// event is delivered to exactly one waiter; the kernel forgets a socket when libpq closes it.
///
/// Spurious readiness is harmless: callers re-check libpq (`PQisBusy`) and wait again.
///
/// It is also a task executor (`ConnectionManager.taskExecutor`): tasks that prefer it run on its thread between
/// its waits, so a reply resumes its task where it arrived, without a hop to the cooperative pool. One thread for
/// all of them: a job that blocks holds up every such task and every task's replies.
final class SocketReactor: TaskExecutor, Sendable {
    /// The name of the reactor's thread (what `top -H` and a debugger show).
    static let threadName = "pooltop.reactor"

    /// The process's reactor, started on first use; nil when the kernel refused an epoll or event descriptor.
    static let shared: SocketReactor? = SocketReactor()

    private struct Waiter {
        let continuation: UnsafeContinuation<SocketWait.Outcome, Never>
        let deadline: ContinuousClock.Instant?
    }

    private struct State {
        /// One waiter per socket: a socket belongs to one connection, used by one holder at a time.
        var waiters: [Int32: Waiter] = [:]
        /// When the timer fires; nil while it is disarmed. Never later than any waiter's deadline, so the reactor
        /// looks for expired waiters only when it fires (usually for a waiter long gone: one wake per timeout).
        var timerAt: ContinuousClock.Instant?
    }

    /// Jobs of tasks that prefer this executor (`ConnectionManager.taskExecutor`), run by the reactor's thread
    /// between its waits.
    private struct Jobs {
        var queued: [UnownedJob] = []
        /// The thread is in (or about to enter) an `epoll_wait` without a timeout: an enqueue must wake it.
        var sleeping = false
    }

    private let epoll: Int32
    /// The reactor's thread (`pthread_self`), stored by the thread before it runs anything; 0 until then.
    private let threadID = Atomic<UInt>(0)
    /// An `eventfd` in the epoll set: written by an enqueue while the thread sleeps.
    private let wake: Int32
    private let jobs = PoolLock(Jobs())
    /// A `timerfd` in the epoll set, armed for the earliest deadline: a waiter with an earlier deadline than the
    /// armed one re-arms it (one syscall, no wake of the reactor); later deadlines, the usual case, cost nothing.
    private let timer: Int32
    /// A pthread mutex (`PoolLock`): besides the table, it orders what a task wrote before it suspended before
    /// what it reads after it resumes, for the thread sanitizer too (see `wait`).
    private let state = PoolLock(State())

    private init?() {
        #if os(Linux)
            let epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
            guard epoll >= 0 else { return nil }
            // The clock of `ContinuousClock` on Linux.
            let timer = timerfd_create(CLOCK_BOOTTIME, Int32(TFD_CLOEXEC | TFD_NONBLOCK))
            guard timer >= 0 else {
                Glibc.close(epoll)
                return nil
            }
            let wake = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
            var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(fd: timer))
            var wakeEvent = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(fd: wake))
            guard wake >= 0, epoll_ctl(epoll, EPOLL_CTL_ADD, timer, &event) == 0,
                epoll_ctl(epoll, EPOLL_CTL_ADD, wake, &wakeEvent) == 0
            else {
                Glibc.close(epoll)
                Glibc.close(timer)
                if wake >= 0 { Glibc.close(wake) }
                return nil
            }
            self.epoll = epoll
            self.timer = timer
            self.wake = wake
            let thread = Thread { [self] in
                // Foundation on Linux ignores a name set before `start`.
                Thread.current.name = Self.threadName
                threadID.store(UInt(pthread_self()), ordering: .relaxed)
                run()
            }
            thread.start()
        #else
            return nil
        #endif
    }

    /// Whether the calling thread is the reactor's: a job of a task that prefers this executor is running. Relaxed:
    /// the reactor's own thread reads what it stored; any other thread reads 0 or the reactor's, never its own.
    var isCurrentThread: Bool {
        #if os(Linux)
            threadID.load(ordering: .relaxed) == UInt(pthread_self())
        #else
            false
        #endif
    }

    /// Runs a job of a task that prefers this executor on the reactor's thread, after its current round.
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let mustWake = jobs.withLock { jobs -> Bool in
            jobs.queued.append(job)
            guard jobs.sleeping else { return false }
            jobs.sleeping = false
            return true
        }
        #if os(Linux)
            if mustWake {
                var one: UInt64 = 1
                _ = Glibc.write(wake, &one, 8)
            }
        #endif
    }

    /// Suspends until `socket` is ready for `events` (`POLLIN`, `POLLIN | POLLOUT`) or `deadline` passes.
    /// Not cancellable by itself: the caller's cancellation handler asks the server to stop, whose answer is
    /// what ends the wait.
    func wait(_ socket: Int32, for events: Int32, until deadline: ContinuousClock.Instant?) async
        -> SocketWait.Outcome
    {
        guard socket >= 0 else { return .failed("the connection has no socket") }
        if let deadline, deadline <= .now { return .timedOut }
        let outcome = await withUnsafeContinuation { continuation in
            arm(socket, events, deadline, continuation)
        }
        // The reactor removed the waiter and resumed it under the lock: taking the lock here orders everything
        // before the suspension (libpq's state, written on another thread) and the resume before what follows.
        state.withLock { _ in }
        return outcome
    }

    private func arm(
        _ socket: Int32, _ events: Int32, _ deadline: ContinuousClock.Instant?,
        _ continuation: UnsafeContinuation<SocketWait.Outcome, Never>
    ) {
        #if os(Linux)
            let taken = state.withLock { state -> Bool in
                // Statements on one connection take turns (`PostgresConnection.statementTurn`); a second waiter on
                // a socket would be a bug, answered with an error rather than a continuation lost forever.
                guard state.waiters[socket] == nil else { return true }
                state.waiters[socket] = Waiter(continuation: continuation, deadline: deadline)
                guard let deadline else { return false }
                if let timerAt = state.timerAt, timerAt <= deadline { return false }
                state.timerAt = deadline
                setTimer(deadline)
                return false
            }
            if taken {
                continuation.resume(returning: .failed("another statement is already waiting on this connection"))
                return
            }
            var mask = EPOLLONESHOT.rawValue
            if events & Int32(POLLIN) != 0 { mask |= EPOLLIN.rawValue }
            if events & Int32(POLLOUT) != 0 { mask |= EPOLLOUT.rawValue }
            var event = epoll_event(events: mask, data: epoll_data_t(fd: socket))
            // Re-arm (the usual case: the socket waited here before), else add it (a new connection, or the
            // kernel dropped a closed socket whose number was reused).
            var armed = epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event) == 0
            if !armed, errno == ENOENT { armed = epoll_ctl(epoll, EPOLL_CTL_ADD, socket, &event) == 0 }
            if !armed {
                let reason = "epoll_ctl failed: \(String(cString: strerror(errno)))"
                if let waiter = remove(socket) { waiter.continuation.resume(returning: .failed(reason)) }
                return
            }
        #else
            continuation.resume(returning: .failed("the socket reactor needs epoll"))
        #endif
    }

    private func remove(_ socket: Int32) -> Waiter? {
        state.withLock { $0.waiters.removeValue(forKey: socket) }
    }

    #if os(Linux)
        /// The reactor's thread: waits for events, then resumes the waiters they are for, and on the timer the
        /// waiters whose deadline passed.
        private func run() {
            var events = [epoll_event](repeating: epoll_event(), count: 64)
            var resumed: [(UnsafeContinuation<SocketWait.Outcome, Never>, SocketWait.Outcome)] = []
            resumed.reserveCapacity(64)
            var running: [UnownedJob] = []
            while true {
                // The jobs queued so far (those they enqueue run in the next round, after the sockets had a look).
                jobs.withLock { swap(&$0.queued, &running) }
                for job in running { job.runSynchronously(on: asUnownedTaskExecutor()) }
                running.removeAll(keepingCapacity: true)
                let timeout = jobs.withLock { jobs -> Int32 in
                    jobs.sleeping = jobs.queued.isEmpty
                    return jobs.sleeping ? -1 : 0
                }
                let count = events.withUnsafeMutableBufferPointer { buffer in
                    epoll_wait(epoll, buffer.baseAddress, Int32(buffer.count), timeout)
                }
                if timeout != 0 { jobs.withLock { $0.sleeping = false } }
                state.withLock { state in
                    var timerFired = false
                    for index in 0..<Int(max(count, 0)) {
                        let socket = events[index].data.fd
                        if socket == wake {
                            var value: UInt64 = 0
                            _ = Glibc.read(wake, &value, 8)
                            continue
                        }
                        if socket == timer {
                            var expirations: UInt64 = 0
                            _ = Glibc.read(timer, &expirations, 8)
                            timerFired = true
                            continue
                        }
                        guard let waiter = state.waiters.removeValue(forKey: socket) else { continue }
                        let readable =
                            events[index].events & (EPOLLIN.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue)
                        resumed.append((waiter.continuation, .ready(readable: readable != 0)))
                    }
                    guard timerFired else { return }
                    let now = ContinuousClock.now
                    var earliest: ContinuousClock.Instant?
                    for (socket, waiter) in state.waiters {
                        guard let deadline = waiter.deadline else { continue }
                        if deadline <= now {
                            state.waiters[socket] = nil
                            resumed.append((waiter.continuation, .timedOut))
                        } else if earliest.map({ deadline < $0 }) ?? true {
                            earliest = deadline
                        }
                    }
                    state.timerAt = earliest
                    setTimer(earliest)
                }
                // Under the lock: `resume` reads the continuation's context in the task's frame, which the task
                // reuses once it runs; the task takes this lock before going on (`wait`), so the sanitizer sees
                // the read ordered before the reuse (the runtime's own ordering it cannot see).
                state.withLock { _ in
                    for (continuation, outcome) in resumed { continuation.resume(returning: outcome) }
                }
                resumed.removeAll(keepingCapacity: true)
            }
        }

        /// Arms the timer for `deadline` (at once when it has passed), or disarms it for nil. Under the lock.
        private func setTimer(_ deadline: ContinuousClock.Instant?) {
            var setting = itimerspec()
            if let deadline {
                let (seconds, attoseconds) = max(deadline - .now, .nanoseconds(1)).components
                setting.it_value = timespec(tv_sec: Int(seconds), tv_nsec: Int(max(attoseconds / 1_000_000_000, 1)))
            }
            timerfd_settime(timer, 0, &setting, nil)
        }
    #endif
}
