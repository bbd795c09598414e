/// What the state machine tells the shell to do.

/// A connection the state machine just lent. `slot` + `seq` identify the lease (a later lease of the same
/// slot has a larger `seq`, so a stale lease can be told apart).
struct LentConnection<Connection: AnyObject> {
    var slot: Int
    var connection: Connection
    /// Facts of the connection, for the holder's record in the lane.
    var connectionID: Int
    var backendPID: Int32 = 0
    var generation = 0
    /// The holder must ping it (outside the lock) before using it; see `PoolStateMachine.pingFailed`.
    var needsPing: Bool
    /// Monotonic nanoseconds: when the connection was opened, and when this loan began.
    var openedAt: Int64 = 0
    var checkedOutAt: Int64 = 0
    /// Nanoseconds the request waited for it (0: lent at once).
    var waited: Int64 = 0
    /// `PoolStateMachine.laneEpoch` when it was lent.
    var laneEpoch = 0
}

/// Why the state machine failed a request. The shell turns it into a `PoolError`.
enum PoolFailureReason: Sendable {
    /// Indirect: keeps the actions that carry a reason small (the hot path copies them).
    indirect case timedOut(waited: Duration, metrics: PoolMetricsSnapshot)
    /// The open this request caused failed; the shell attaches the error it got from the factory.
    case connectFailed
    /// The breaker is open (connects have been failing): `lastError` is the latest connect error, `retryAt` the
    /// monotonic time the next attempt may start.
    indirect case connectBackoff(lastError: any Error, retryAt: Int64)
    case shutDown
    case cancelled
}

extension PoolStateMachine {
    /// Open a connection into `slot`, then report `connectionOpened` or `connectionOpenFailed`.
    struct OpenRequest: Equatable, Sendable {
        var slot: Int
        /// Ask the factory for the server's identity after opening and pass it to `connectionOpened`.
        var checkIdentity: Bool
    }

    /// Result of `leaseRequested`: one case, so the hot path does not allocate.
    enum LeaseAction {
        /// Lent at once (ping it first when `needsPing`).
        case leased(LentConnection<Connection>)
        /// Enqueued; open a connection (which goes to the oldest waiter), then wait.
        case open(PoolRequestID, OpenRequest)
        /// Enqueued; the idle connection was too old: close it and open its replacement, then wait.
        case replace(close: Connection, PoolRequestID, OpenRequest)
        /// Enqueued; wait to be handed a connection or failed.
        case wait(PoolRequestID)
        /// Enqueued while the breaker backs off; wait, and call `connectRetryDue` at monotonic time `at`.
        case waitForRetry(PoolRequestID, at: Int64)
        /// Not enqueued: waiting could not help (nothing open, connects keep failing).
        case failed(PoolFailureReason)
        /// Nothing changed: this request has to wait, call again with a waiter and this id.
        case needsWaiter(PoolRequestID)
        /// The pool is shut down.
        case shutDown
    }

    /// Result of `connectionReleased`: one case, so the hot path does not allocate.
    enum ReleaseAction {
        /// Kept idle (or the slot was not out): nothing to do.
        case none
        case close(Connection)
        /// Give this connection to the waiter (ping it first when `needsPing`).
        case handOver(LentConnection<Connection>, to: Waiter)
        /// Close the connection and open a replacement for the waiters.
        case closeAndOpen(Connection, OpenRequest)
        /// Kept idle; wake this waiter to retry (`waiterRetried`).
        case wake(Waiter)
    }

    /// Result of `waiterRetried`.
    enum RetryAction {
        /// Lent (ping it first when `needsPing`); the request left the queue.
        case leased(LentConnection<Connection>)
        /// Nothing idle: sleep again, still in the queue at the same place.
        case wait
        /// The request is no longer queued: its hand-over or failure is on the way (or the wake-up was stale).
        case notWaiting
    }

    /// One step of `nextWake`.
    enum Wake {
        case wake(Waiter)
        case handOver(LentConnection<Connection>, Waiter)
    }

    /// Several things to do (cold paths). Empty arrays do not allocate.
    struct Actions {
        var close: [Connection] = []
        var open: [OpenRequest] = []
        var handOver: [(LentConnection<Connection>, Waiter)] = []
        var fail: [(Waiter, PoolFailureReason)] = []
        /// Waiters to wake to retry (`waiterRetried`).
        var wake: [Waiter] = []
        /// The request `pingFailed` enqueued (to wait on with its deadline).
        var enqueued: PoolRequestID?
        /// Idle connections to ping for keepalive (then report `keepalivePinged`), by slot.
        var ping: [(slot: Int, connection: Connection)] = []
        /// Call `connectRetryDue` at this monotonic time (the breaker's backoff ends, requests wait for a connect).
        var retryAt: Int64?
        /// The pool's first connection ever opened (`onPoolConnect`).
        var isFirstConnect = false
        /// The server identity changed: every older connection was invalidated.
        var serverRestarted = false
    }
}

extension LentConnection: Sendable where Connection: Sendable {}
extension PoolStateMachine.LeaseAction: Sendable where Connection: Sendable {}
extension PoolStateMachine.ReleaseAction: Sendable where Connection: Sendable, Waiter: Sendable {}
extension PoolStateMachine.RetryAction: Sendable where Connection: Sendable {}
extension PoolStateMachine.Wake: Sendable where Connection: Sendable, Waiter: Sendable {}
extension PoolStateMachine.Actions: Sendable where Connection: Sendable, Waiter: Sendable {}

// MARK: Equality (for tests that compare whole actions)

// Connections compare by identity (`===`): the machine hands out the very objects it was given, and two leases
// of equal-looking but distinct connections are different leases.

extension LentConnection: Equatable {
    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.slot == rhs.slot && lhs.connection === rhs.connection && lhs.connectionID == rhs.connectionID
            && lhs.backendPID == rhs.backendPID && lhs.generation == rhs.generation && lhs.needsPing == rhs.needsPing
            && lhs.openedAt == rhs.openedAt && lhs.checkedOutAt == rhs.checkedOutAt && lhs.waited == rhs.waited
            && lhs.laneEpoch == rhs.laneEpoch
    }
}

/// Two reasons are equal when they say the same thing: the same case with equal facts. A backoff's error is
/// compared by its dynamic type and its description (`any Error` has no equality; the shell shows the user
/// nothing else of it), and a timeout's metrics snapshot field by field, samples included.
extension PoolFailureReason: Equatable {
    static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.timedOut(let lw, let lm), .timedOut(let rw, let rm)):
            return lw == rw && lm == rm
        case (.connectFailed, .connectFailed), (.shutDown, .shutDown), (.cancelled, .cancelled):
            return true
        case (.connectBackoff(let le, let lr), .connectBackoff(let re, let rr)):
            return lr == rr && Self.sameError(le, re)
        case (.timedOut, _), (.connectFailed, _), (.connectBackoff, _), (.shutDown, _), (.cancelled, _):
            return false
        }
    }

    /// The same dynamic type and the same description.
    static func sameError(_ lhs: any Error, _ rhs: any Error) -> Bool {
        ObjectIdentifier(type(of: lhs)) == ObjectIdentifier(type(of: rhs))
            && String(describing: lhs) == String(describing: rhs)
    }
}

extension PoolStateMachine.LeaseAction: Equatable {
    static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.leased(let l), .leased(let r)):
            return l == r
        case (.open(let lid, let lo), .open(let rid, let ro)):
            return lid == rid && lo == ro
        case (.replace(let lc, let lid, let lo), .replace(let rc, let rid, let ro)):
            return lc === rc && lid == rid && lo == ro
        case (.wait(let l), .wait(let r)), (.needsWaiter(let l), .needsWaiter(let r)):
            return l == r
        case (.waitForRetry(let lid, let lat), .waitForRetry(let rid, let rat)):
            return lid == rid && lat == rat
        case (.failed(let l), .failed(let r)):
            return l == r
        case (.shutDown, .shutDown):
            return true
        case (.leased, _), (.open, _), (.replace, _), (.wait, _), (.waitForRetry, _), (.failed, _),
            (.needsWaiter, _), (.shutDown, _):
            return false
        }
    }
}

extension PoolStateMachine.ReleaseAction: Equatable where Waiter: Equatable {
    static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.none, .none):
            return true
        case (.close(let l), .close(let r)):
            return l === r
        case (.handOver(let ll, let lw), .handOver(let rl, let rw)):
            return ll == rl && lw == rw
        case (.closeAndOpen(let lc, let lo), .closeAndOpen(let rc, let ro)):
            return lc === rc && lo == ro
        case (.wake(let l), .wake(let r)):
            return l == r
        case (.none, _), (.close, _), (.handOver, _), (.closeAndOpen, _), (.wake, _):
            return false
        }
    }
}

extension PoolStateMachine.RetryAction: Equatable {
    static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.leased(let l), .leased(let r)): return l == r
        case (.wait, .wait), (.notWaiting, .notWaiting): return true
        case (.leased, _), (.wait, _), (.notWaiting, _): return false
        }
    }
}

extension PoolStateMachine.Wake: Equatable where Waiter: Equatable {
    static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.wake(let l), .wake(let r)): return l == r
        case (.handOver(let ll, let lw), .handOver(let rl, let rw)): return ll == rl && lw == rw
        case (.wake, _), (.handOver, _): return false
        }
    }
}

extension PoolStateMachine.Actions: Equatable where Waiter: Equatable {
    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.close.elementsEqual(rhs.close, by: { $0 === $1 }) && lhs.open == rhs.open
            && lhs.handOver.elementsEqual(rhs.handOver, by: { $0.0 == $1.0 && $0.1 == $1.1 })
            && lhs.fail.elementsEqual(rhs.fail, by: { $0.0 == $1.0 && $0.1 == $1.1 }) && lhs.wake == rhs.wake
            && lhs.enqueued == rhs.enqueued
            && lhs.ping.elementsEqual(rhs.ping, by: { $0.slot == $1.slot && $0.connection === $1.connection })
            && lhs.retryAt == rhs.retryAt && lhs.isFirstConnect == rhs.isFirstConnect
            && lhs.serverRestarted == rhs.serverRestarted
    }
}
