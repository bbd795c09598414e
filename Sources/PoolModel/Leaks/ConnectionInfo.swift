#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What the pool knows about one checked-out connection: who took it, when and where.
public struct ConnectionInfo: Sendable, Equatable, Codable {
    /// The pool's id of the physical connection (stable while it lives).
    public var connectionID: Int
    /// The server process serving this connection (`PQbackendPID`).
    public var backendPID: Int32
    public var checkedOutAt: Date
    /// Name of the thread (or a task description) that checked it out.
    public var threadName: String
    /// The last statement sent on it through the pool, if any.
    public var lastSQL: String?
    /// The holder marked this session as expected to be long: no leak alarm.
    public var isExpectedLong: Bool
    /// Masked URL of the server the connection belongs to.
    public var target: String
    /// Raw checkout stack, symbolicated only on demand; `nil` when capture is off or not sampled.
    public var stack: CapturedStack?

    public init(
        connectionID: Int, backendPID: Int32, checkedOutAt: Date, threadName: String, lastSQL: String? = nil,
        isExpectedLong: Bool = false, target: String, stack: CapturedStack? = nil
    ) {
        self.connectionID = connectionID
        self.backendPID = backendPID
        self.checkedOutAt = checkedOutAt
        self.threadName = threadName
        self.lastSQL = lastSQL
        self.isExpectedLong = isExpectedLong
        self.target = target
        self.stack = stack
    }

    /// The stack stays in the process that captured it (raw addresses mean nothing elsewhere): the JSON says
    /// only whether one was captured, and a remote reader asks for the symbolicated frames by connection id.
    enum CodingKeys: String, CodingKey {
        case target
        case connectionID = "connection_id"
        case backendPID = "backend_pid"
        case checkedOutAt = "checked_out_at"
        case threadName = "thread_name"
        case lastSQL = "last_sql"
        case isExpectedLong = "expected_long"
        case hasStack = "has_stack"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        connectionID = try container.decode(Int.self, forKey: .connectionID)
        backendPID = try container.decode(Int32.self, forKey: .backendPID)
        checkedOutAt = try container.decode(Date.self, forKey: .checkedOutAt)
        threadName = try container.decode(String.self, forKey: .threadName)
        lastSQL = try container.decodeIfPresent(String.self, forKey: .lastSQL)
        isExpectedLong = try container.decodeIfPresent(Bool.self, forKey: .isExpectedLong) ?? false
        target = try container.decode(String.self, forKey: .target)
        stack = nil
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(connectionID, forKey: .connectionID)
        try container.encode(backendPID, forKey: .backendPID)
        try container.encode(checkedOutAt, forKey: .checkedOutAt)
        try container.encode(threadName, forKey: .threadName)
        try container.encodeIfPresent(lastSQL, forKey: .lastSQL)
        try container.encode(isExpectedLong, forKey: .isExpectedLong)
        try container.encode(target, forKey: .target)
        try container.encode(stack != nil, forKey: .hasStack)
    }
}

/// The server's view of one backend, from `pg_stat_activity`.
public struct ServerActivity: Sendable, Equatable, Codable {
    public var pid: Int32
    /// e.g. `active`, `idle`, `idle in transaction`.
    public var state: String?
    public var xactStart: Date?
    public var queryStart: Date?
    public var stateChange: Date?
    public var query: String?
    public var waitEventType: String?
    public var waitEvent: String?
    public var applicationName: String?

    public init(
        pid: Int32, state: String? = nil, xactStart: Date? = nil, queryStart: Date? = nil, stateChange: Date? = nil,
        query: String? = nil, waitEventType: String? = nil, waitEvent: String? = nil, applicationName: String? = nil
    ) {
        self.pid = pid
        self.state = state
        self.xactStart = xactStart
        self.queryStart = queryStart
        self.stateChange = stateChange
        self.query = query
        self.waitEventType = waitEventType
        self.waitEvent = waitEvent
        self.applicationName = applicationName
    }

    enum CodingKeys: String, CodingKey {
        case pid, state, query
        case xactStart = "xact_start"
        case queryStart = "query_start"
        case stateChange = "state_change"
        case waitEventType = "wait_event_type"
        case waitEvent = "wait_event"
        case applicationName = "application_name"
    }
}

/// One symbolicated frame of a checkout stack.
public struct StackFrame: Sendable, Equatable, Codable {
    public var index: Int
    /// Demangled function name, or the raw address when no symbol was found.
    public var symbol: String
    public var file: String?
    public var line: Int?
    public var image: String?

    public init(index: Int, symbol: String, file: String? = nil, line: Int? = nil, image: String? = nil) {
        self.index = index
        self.symbol = symbol
        self.file = file
        self.line = line
        self.image = image
    }
}

/// A connection held past the leak threshold, as shown to people.
public struct LeakReport: Sendable, Equatable, Codable {
    public var info: ConnectionInfo
    /// Seconds held at the time of the snapshot.
    public var heldFor: Double
    /// When it crossed the threshold.
    public var detectedAt: Date
    /// What the server says this backend is doing; `nil` until fetched or when unavailable.
    public var server: ServerActivity?

    public init(info: ConnectionInfo, heldFor: Double, detectedAt: Date, server: ServerActivity? = nil) {
        self.info = info
        self.heldFor = heldFor
        self.detectedAt = detectedAt
        self.server = server
    }

    enum CodingKeys: String, CodingKey {
        case info, server
        case heldFor = "held_for"
        case detectedAt = "detected_at"
    }
}

/// A leak that was eventually given back (kept briefly for the dashboard).
public struct ReturnedLeak: Sendable, Equatable, Codable {
    public var info: ConnectionInfo
    /// Total seconds it was held.
    public var heldFor: Double
    public var returnedAt: Date

    public init(info: ConnectionInfo, heldFor: Double, returnedAt: Date) {
        self.info = info
        self.heldFor = heldFor
        self.returnedAt = returnedAt
    }

    enum CodingKeys: String, CodingKey {
        case info
        case heldFor = "held_for"
        case returnedAt = "returned_at"
    }
}
