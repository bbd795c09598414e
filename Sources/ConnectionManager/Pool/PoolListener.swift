/// Callbacks a `ConnectionPool` makes outside its lock (so a listener may call back into the pool).
///
/// They run on the thread that caused the event (a checkout, a checkin, or the pool's own thread for an open made
/// in the background or for a task); keep them short. Every callback is optional.
public struct PoolListener<Connection: Sendable>: Sendable {
    /// A new physical connection was opened, before anyone uses it (SQLAlchemy's `connect` event).
    public var onConnect: (@Sendable (Connection) -> Void)?
    /// The pool's very first connection was opened (SQLAlchemy's `first_connect`).
    public var onPoolConnect: (@Sendable (Connection) -> Void)?
    /// A connection was lent to a caller.
    public var onCheckout: (@Sendable (Connection) -> Void)?
    /// A connection was given back (after `reset`, before it is reused or closed).
    public var onCheckin: (@Sendable (Connection) -> Void)?
    /// The server's identity changed; every older connection was invalidated. Gives the new generation.
    public var onServerRestart: (@Sendable (_ generation: Int) -> Void)?

    public init(
        onConnect: (@Sendable (Connection) -> Void)? = nil, onPoolConnect: (@Sendable (Connection) -> Void)? = nil,
        onCheckout: (@Sendable (Connection) -> Void)? = nil, onCheckin: (@Sendable (Connection) -> Void)? = nil,
        onServerRestart: (@Sendable (_ generation: Int) -> Void)? = nil
    ) {
        self.onConnect = onConnect
        self.onPoolConnect = onPoolConnect
        self.onCheckout = onCheckout
        self.onCheckin = onCheckin
        self.onServerRestart = onServerRestart
    }
}

/// Identifies a listener added with `ConnectionPool.addListener(_:)`, to remove it later.
public struct PoolListenerToken: Hashable, Sendable {
    let rawValue: Int
}

extension ConnectionPool {
    /// Adds a listener; it is called for events from now on. Returns the token that removes it.
    @discardableResult
    public func addListener(_ listener: PoolListener<Connection>) -> PoolListenerToken {
        let token = PoolListenerToken(rawValue: nextListenerToken.wrappingAdd(1, ordering: .relaxed).newValue)
        let count = listeners.withLock { list in
            list.append((token, listener))
            return list.count
        }
        listenerCount.store(count, ordering: .releasing)
        return token
    }

    /// Removes a listener. Events already being delivered may still reach it.
    public func removeListener(_ token: PoolListenerToken) {
        let count = listeners.withLock { list in
            list.removeAll { $0.0 == token }
            return list.count
        }
        listenerCount.store(count, ordering: .releasing)
    }

    /// Calls `event` on every listener. Cheap (one atomic load) when there are none.
    @inline(__always)
    func notify(_ event: (PoolListener<Connection>) -> Void) {
        guard listenerCount.load(ordering: .acquiring) > 0 else { return }
        notifySlow(event)
    }

    @inline(never)
    func notifySlow(_ event: (PoolListener<Connection>) -> Void) {
        let current = listeners.withLock { $0 }
        for (_, listener) in current { event(listener) }
    }
}
