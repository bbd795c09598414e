/// Tasks sharing one connection (child tasks of its holder) take turns on it: libpq runs one statement at a time
/// per connection, and the `SocketReactor` has one waiter per socket. A task waits for its turn suspended, in
/// arrival order; the uncontended case is one lock and unlock on each side.
final class StatementTurn: Sendable {
    private struct State {
        var busy = false
        var waiting: [UnsafeContinuation<Void, Never>] = []
    }

    /// A pthread mutex (`PoolLock`): the thread sanitizer sees it order one statement's libpq calls before the
    /// next one's, whichever threads the two tasks run on.
    private let state = PoolLock(State())

    /// Waits until no other statement runs on the connection. Not cancellable: the statement itself checks for
    /// cancellation once it has its turn (and is then not sent).
    func take() async {
        let free = state.withLock { state -> Bool in
            if state.busy { return false }
            state.busy = true
            return true
        }
        if free { return }
        await withUnsafeContinuation { continuation in
            let nowFree = state.withLock { state -> Bool in
                if !state.busy {
                    state.busy = true
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if nowFree { continuation.resume() }
        }
        // The one who handed the turn over did so under the lock: taking it orders its work before ours.
        state.withLock { _ in }
    }

    /// Hands the turn to the next waiting task, if any.
    /// Resumed under the lock, which the next task takes before going on (see `SocketReactor.run`).
    func give() {
        state.withLock { state in
            guard !state.waiting.isEmpty else {
                state.busy = false
                return
            }
            state.waiting.removeFirst().resume()
        }
    }
}
