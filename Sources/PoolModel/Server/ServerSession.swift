#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One client session as the server reports it: a `pg_stat_activity` row, the lock it waits for (`pg_locks`), the
/// sessions in its way (`pg_blocking_pids`), and whether it is one of the watched pool's connections.
///
/// Ages are seconds at the server's clock (the query computes them against its own `now()`), so a skewed client
/// clock never makes a transaction look younger than it is.
public struct ServerSession: Sendable, Equatable, Codable {
    public var pid: Int32
    public var user: String?
    public var application: String?
    /// `client_addr` as text; `nil` for a Unix-socket client.
    public var client: String?
    public var database: String?
    /// `active`, `idle`, `idle in transaction`, `idle in transaction (aborted)`, …; `nil` when not visible.
    public var state: String?
    /// The current or last statement, at most 1000 characters as the server sent it (raw: display it sanitized).
    public var query: String?
    public var waitEventType: String?
    public var waitEvent: String?
    /// Seconds since the transaction started; `nil` outside a transaction.
    public var transactionAge: Double?
    /// Seconds since the current (or last) statement started.
    public var queryAge: Double?
    /// Seconds since `state` last changed (for `idle in transaction`: how long it has sat there).
    public var stateAge: Double?
    /// The sessions holding, or queued ahead for, the lock this one waits for (`pg_blocking_pids`); empty when it
    /// waits for no heavyweight lock.
    public var blockedBy: [Int32]
    /// The lock this session waits for, when it waits for one.
    public var waitingFor: WaitingLock?
    /// Set when the backend is one of the watched pool's connections.
    public var pool: PoolMark?

    public init(
        pid: Int32, user: String? = nil, application: String? = nil, client: String? = nil, database: String? = nil,
        state: String? = nil, query: String? = nil, waitEventType: String? = nil, waitEvent: String? = nil,
        transactionAge: Double? = nil, queryAge: Double? = nil, stateAge: Double? = nil, blockedBy: [Int32] = [],
        waitingFor: WaitingLock? = nil, pool: PoolMark? = nil
    ) {
        self.pid = pid
        self.user = user
        self.application = application
        self.client = client
        self.database = database
        self.state = state
        self.query = query
        self.waitEventType = waitEventType
        self.waitEvent = waitEvent
        self.transactionAge = transactionAge
        self.queryAge = queryAge
        self.stateAge = stateAge
        self.blockedBy = blockedBy
        self.waitingFor = waitingFor
        self.pool = pool
    }

    /// Whether it waits behind another session's lock.
    public var isBlocked: Bool { !blockedBy.isEmpty }

    /// Whether it sits in an open transaction doing nothing (`idle in transaction`, aborted or not).
    public var isIdleInTransaction: Bool { state?.hasPrefix("idle in transaction") ?? false }

    /// How long it has waited for its lock: since the wait started (`pg_locks.waitstart`, PostgreSQL 14+), else
    /// since its statement started; `nil` when not blocked.
    public var blockedFor: Double? {
        guard isBlocked else { return nil }
        return waitingFor?.waitingFor ?? queryAge
    }

    enum CodingKeys: String, CodingKey {
        case pid, user, application, client, database, state, query, pool
        case waitEventType = "wait_event_type"
        case waitEvent = "wait_event"
        case transactionAge = "transaction_age"
        case queryAge = "query_age"
        case stateAge = "state_age"
        case blockedBy = "blocked_by"
        case waitingFor = "waiting_for"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        pid = try c.decode(Int32.self, forKey: .pid)
        user = try c.decodeIfPresent(String.self, forKey: .user)
        application = try c.decodeIfPresent(String.self, forKey: .application)
        client = try c.decodeIfPresent(String.self, forKey: .client)
        database = try c.decodeIfPresent(String.self, forKey: .database)
        state = try c.decodeIfPresent(String.self, forKey: .state)
        query = try c.decodeIfPresent(String.self, forKey: .query)
        waitEventType = try c.decodeIfPresent(String.self, forKey: .waitEventType)
        waitEvent = try c.decodeIfPresent(String.self, forKey: .waitEvent)
        transactionAge = try c.decodeIfPresent(Double.self, forKey: .transactionAge)
        queryAge = try c.decodeIfPresent(Double.self, forKey: .queryAge)
        stateAge = try c.decodeIfPresent(Double.self, forKey: .stateAge)
        blockedBy = try c.decodeIfPresent([Int32].self, forKey: .blockedBy) ?? []
        waitingFor = try c.decodeIfPresent(WaitingLock.self, forKey: .waitingFor)
        pool = try c.decodeIfPresent(PoolMark.self, forKey: .pool)
    }
}

/// The heavyweight lock a session waits for (its ungranted `pg_locks` row).
public struct WaitingLock: Sendable, Equatable, Codable {
    /// `relation`, `tuple`, `transactionid`, `advisory`, …
    public var lockType: String
    /// `ShareLock`, `RowExclusiveLock`, `AccessExclusiveLock`, …
    public var mode: String
    /// The table (or index) name, when the lock is on a relation of the database the view was read in.
    public var relation: String?
    /// Seconds since the wait began (`pg_locks.waitstart`, PostgreSQL 14+); `nil` on older servers.
    public var waitingFor: Double?

    public init(lockType: String, mode: String, relation: String? = nil, waitingFor: Double? = nil) {
        self.lockType = lockType
        self.mode = mode
        self.relation = relation
        self.waitingFor = waitingFor
    }

    enum CodingKeys: String, CodingKey {
        case mode, relation
        case lockType = "lock_type"
        case waitingFor = "waiting_for"
    }
}

/// Marks a session as one of the watched pool's own connections.
public struct PoolMark: Sendable, Equatable, Codable {
    /// The pool's id of the connection when it is checked out (idle connections are known by pid only).
    public var connectionID: Int?
    /// Lent to a caller right now (else idle in the pool).
    public var isCheckedOut: Bool
    /// Held past the leak threshold: `connectionID` is the leak's number.
    public var isLeak: Bool

    public init(connectionID: Int? = nil, isCheckedOut: Bool, isLeak: Bool = false) {
        self.connectionID = connectionID
        self.isCheckedOut = isCheckedOut
        self.isLeak = isLeak
    }

    /// `your leak #12`, `your connection #3`, `your idle connection`: how the screen names it.
    public var label: String {
        if isLeak, let id = connectionID { return "your leak #\(id)" }
        if let id = connectionID { return "your connection #\(id)" }
        return isCheckedOut ? "your connection" : "your idle connection"
    }

    enum CodingKeys: String, CodingKey {
        case connectionID = "connection_id"
        case isCheckedOut = "checked_out"
        case isLeak = "leak"
    }
}
