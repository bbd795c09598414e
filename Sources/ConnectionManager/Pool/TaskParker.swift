/// What a waiting async checkout waits on: the task's counterpart of `ThreadParker`, with the same two events
/// (a result, or a wake-up to retry), so that a task waits by the same rules as a thread.
///
/// One per waiting request, kept for all its retries: the machine's queue holds it as the waiter, and the task
/// awaits `next()` once per event. An event that arrives while the task is not awaiting (it is retrying, or
/// pinging) is kept for its next `next()`. A result wins over a pending wake-up and is never replaced: the pool
/// resolves a request exactly once.
final class TaskParker<Value: Sendable>: Sendable {
    enum Event: Sendable {
        case value(Value)
        case retry
    }

    private struct State {
        var continuation: UnsafeContinuation<Event, Never>?
        var value: Value?
        var isRetryPending = false
    }

    /// A pthread mutex (`PoolLock`), as `AsyncStatement`: the thread sanitizer does not see the futex under
    /// `Synchronization.Mutex` on Linux.
    private let state = PoolLock(State())

    /// Delivers the result: resumes the task if it awaits `next()`, else keeps it for its next call.
    func resume(_ value: Value) {
        let continuation = state.withLock { state -> UnsafeContinuation<Event, Never>? in
            state.isRetryPending = false
            guard let continuation = state.continuation else {
                state.value = value
                return nil
            }
            state.continuation = nil
            return continuation
        }
        continuation?.resume(returning: .value(value))
    }

    /// Wakes the task to retry, unless a result is already there (the result wins).
    func wakeToRetry() {
        let continuation = state.withLock { state -> UnsafeContinuation<Event, Never>? in
            guard state.value == nil else { return nil }
            guard let continuation = state.continuation else {
                state.isRetryPending = true
                return nil
            }
            state.continuation = nil
            return continuation
        }
        continuation?.resume(returning: .retry)
    }

    /// The next event: at once if one is pending, else when it arrives. Not cancellable by itself: the checkout
    /// turns a cancellation into a `.cancelled` result through the machine (`leaseCancelled`).
    func next() async -> Event {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Event, Never>) in
            let ready = state.withLock { state -> Event? in
                if let value = state.value {
                    state.value = nil
                    state.isRetryPending = false
                    return .value(value)
                }
                if state.isRetryPending {
                    state.isRetryPending = false
                    return .retry
                }
                state.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
