#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A lock that owns its value, like `Synchronization.Mutex`, on a plain (non-PI) `pthread_mutex_t`.
///
/// Why not `Mutex`: on Linux in Swift 6.3 `Mutex` is a priority-inheritance futex, which hands the lock
/// from thread to thread through the kernel under contention (swiftlang/swift#88440, fixed later by #88523).
/// Measured on the pool's checkout+checkin loop it made 4 contending threads several times slower. glibc's
/// default mutex spins nothing but lets a running thread re-take a just-released lock, which is what a pool's
/// short critical sections need. And the thread sanitizer cannot see `Mutex`'s contended hand-over (it happens in
/// the kernel), so it reported contended `Mutex` sections as races (`PostgresConnectionFactoryTests`); a pthread
/// mutex it understands. Every lock in this module is a `PoolLock` for both reasons. Same shape as
/// `Mutex.withLock`, so switching back is a one-line change.
final class PoolLock<Value>: @unchecked Sendable {
    // Safety: `value` is only accessed between `pthread_mutex_lock` and `pthread_mutex_unlock` of `mutex`.
    // Both live behind pointers: stable addresses, and no dynamic exclusivity check on the hot path.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let value: UnsafeMutablePointer<Value>

    init(_ initialValue: consuming Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        value = .allocate(capacity: 1)
        value.initialize(to: initialValue)
    }

    deinit {
        value.deinitialize(count: 1)
        value.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value. Never call back into the same lock from `body`.
    @inline(__always)
    func withLock<Result, E: Error>(_ body: (inout Value) throws(E) -> Result) throws(E) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }
}
