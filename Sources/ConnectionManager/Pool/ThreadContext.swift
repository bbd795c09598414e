import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Monotonic time in nanoseconds (`CLOCK_MONOTONIC`): what the pool measures waits, holds and idle times with.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point (boot); never jumps with wall-clock changes.
    @inline(__always)
    public static var now: Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }

    /// The same clock at the kernel tick's resolution (a few ms, never ahead of `now`), at a quarter of the cost:
    /// for ages compared with thresholds of seconds (recycle, pre-ping, leak detection).
    @inline(__always)
    static var coarse: Int64 {
        var ts = timespec()
        #if os(Linux)
            clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        #else
            clock_gettime(CLOCK_MONOTONIC, &ts)
        #endif
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }
}

/// Per-thread data the pool caches to stay off syscalls on the hot path: the thread's name (read once with
/// `pthread_getname_np`) and the parker a blocked checkout waits on. Reached with `pthread_getspecific`.
final class ThreadContext: @unchecked Sendable {
    // Safety: `name` is immutable; `parker` synchronizes itself; `habits` is read and written only by the owning
    // thread, which alone reaches the context through the thread-specific key (others only see the parker).
    let name: String
    let parker = ThreadParker()
    /// What the pool remembers about this thread (`ThreadHabits`). Only the owning thread reads or writes it
    /// (behind a pointer: no dynamic exclusivity checks on the hot path).
    typealias Habits = ThreadHabits
    let habits: UnsafeMutablePointer<Habits>

    deinit {
        habits.deinitialize(count: 1)
        habits.deallocate()
    }

    /// The calling thread's habits, without retaining its context (the thread keeps it alive). Use it on this
    /// thread only.
    @inline(__always)
    static var currentHabits: UnsafeMutablePointer<Habits> {
        if let pointer = pthread_getspecific(key) {
            return Unmanaged<ThreadContext>.fromOpaque(pointer)._withUnsafeGuaranteedRef { $0.habits }
        }
        return makeCurrent().habits
    }

    private init(name: String) {
        self.name = name
        habits = .allocate(capacity: 1)
        habits.initialize(to: Habits(name: name))
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            Unmanaged<ThreadContext>.fromOpaque(pointer).release()
        }
        return key
    }()

    /// The calling thread's context, created on its first checkout. A later rename of the thread is not seen.
    @inline(__always)
    static var current: ThreadContext {
        if let pointer = pthread_getspecific(key) {
            return Unmanaged<ThreadContext>.fromOpaque(pointer).takeUnretainedValue()
        }
        return makeCurrent()
    }

    @inline(never)
    private static func makeCurrent() -> ThreadContext {
        // Once per thread: Foundation's name (full length), else the kernel's (15 bytes), else the thread id.
        // (pthread_getname_np is not imported on Linux.)
        var name = Thread.current.name ?? ""
        if name.isEmpty { name = readProcFile("/proc/thread-self/comm") }
        if name.isEmpty {
            name = "thread-" + readLink("/proc/thread-self").split(separator: "/").last.map(String.init)!
        }
        let context = ThreadContext(name: name)
        pthread_setspecific(key, Unmanaged.passRetained(context).toOpaque())
        return context
    }

    private static func readProcFile(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return "" }
        let text = String(decoding: buffer[0..<count], as: UTF8.self)
        return text.trimmingSuffix(while: { $0 == "\n" })
    }

    private static func readLink(_ path: String) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return "?" }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension String {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var result = self
        while let last = result.last, predicate(last) { result.removeLast() }
        return result
    }
}

/// One-shot handoff a blocked thread waits on (pthread mutex + condition on the monotonic clock).
///
/// Reused by its thread for every wait: the pool resolves each waiting request exactly once, and the thread
/// always takes the value before its checkout returns, so no value is left over for the next wait. A wake-up to
/// retry (`wakeToRetry`) carries no value and never replaces one; a stale one (its request already left the
/// queue) may be seen by a later wait, which then only retries once more.
final class ThreadParker: @unchecked Sendable {
    // Safety: `value` and `isRetryPending` are only read and written while holding `mutex`.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var value: Any?
    private var isRetryPending = false

    /// What ended a wait.
    enum Wakeup {
        case value(Any)
        case retry
        case timedOut
    }

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Delivers the result and wakes the waiting thread (which may not have started waiting yet).
    func resume(_ result: Any) {
        pthread_mutex_lock(mutex)
        value = result
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Wakes the waiting thread to retry, unless a result is already there (the result wins).
    func wakeToRetry() {
        pthread_mutex_lock(mutex)
        if value == nil {
            isRetryPending = true
            pthread_cond_signal(condition)
        }
        pthread_mutex_unlock(mutex)
    }

    /// Waits until a result or a wake-up to retry arrives or the monotonic `deadline` (ns) passes (`nil`:
    /// forever). A result takes precedence over a pending retry.
    func wait(until deadline: Int64?) -> Wakeup {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while value == nil && !isRetryPending {
            if let deadline {
                var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                if pthread_cond_timedwait(condition, mutex, &ts) == ETIMEDOUT, value == nil, !isRetryPending {
                    return .timedOut
                }
            } else {
                pthread_cond_wait(condition, mutex)
            }
        }
        isRetryPending = false
        if let result = value {
            value = nil
            return .value(result)
        }
        return .retry
    }

    /// Waits for a result, ignoring wake-ups to retry (the request already left the queue).
    func waitForValue() -> Any {
        while true {
            if case .value(let result) = wait(until: nil) { return result }
        }
    }
}
