#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Constants and message shapes of the control protocol (docs/CONTROL-PROTOCOL.md), shared by the service side
/// and its readers (`pooltop attach`).
public enum ControlProtocol {
    /// `protocol_version` of every response and `X-Pooltop-Protocol` header.
    public static let version = 1
    /// The library's version, reported as `"library": "pooltop <version>"` by `/v1/info`.
    public static let libraryVersion = "0.1.0"

    /// The dialect's compact JSON (sorted snake_case keys, ISO 8601 timestamps), never failing: a value that
    /// cannot be encoded becomes an error body (it never happens with the protocol's own types).
    package static func encode(_ value: some Encodable) -> Data {
        do {
            return try ControlJSON.encoder().encode(value)
        } catch {
            return Data(#"{"error":"The response could not be encoded.","protocol_version":1}"#.utf8)
        }
    }
}

/// Who is on the other end of a control connection, from `SO_PEERCRED` (and `SO_PEERGROUPS`).
public struct ControlPeer: Sendable, Equatable, CustomStringConvertible {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    /// Supplementary groups of the peer process (empty when they could not be read).
    public var groups: [UInt32]
    /// `/proc/<pid>/comm`, sanitized to printable ASCII (`?` when unknown).
    public var program: String

    public init(uid: UInt32, gid: UInt32, pid: Int32, groups: [UInt32] = [], program: String = "?") {
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.groups = groups
        self.program = program
    }

    /// `uid 1000 pid 4242 (pooltop)`: how logs and events name the sender of a command.
    public var description: String { "uid \(uid) pid \(pid) (\(program))" }

    /// A program name as read from `/proc/<pid>/comm`, safe to log and show: printable ASCII, at most 32 bytes.
    package static func sanitizedProgram(_ raw: String) -> String {
        let trimmed = raw.trimmingSpaces
        let safe = String(
            String.UnicodeScalarView(
                trimmed.unicodeScalars.prefix(32).map { $0.isASCII && $0.value >= 32 && $0.value < 127 ? $0 : "?" }))
        return safe.isEmpty ? "?" : safe
    }
}

/// `GET /v1/info`.
public struct ControlInfo: Sendable, Equatable, Codable {
    public var protocolVersion: Int
    public var schemaVersion: Int
    public var poolName: String
    public var pid: Int32
    public var program: String
    public var startedAt: Date
    /// The current target, password masked.
    public var target: String
    public var socket: String
    /// `pooltop <version>`.
    public var library: String
    /// What the asking peer may do: `act` or `read`.
    public var access: String

    public init(
        protocolVersion: Int = ControlProtocol.version, schemaVersion: Int = ManagerSnapshot.schemaVersion,
        poolName: String, pid: Int32, program: String, startedAt: Date, target: String, socket: String,
        library: String = "pooltop \(ControlProtocol.libraryVersion)", access: String
    ) {
        self.protocolVersion = protocolVersion
        self.schemaVersion = schemaVersion
        self.poolName = poolName
        self.pid = pid
        self.program = program
        self.startedAt = startedAt
        self.target = target
        self.socket = socket
        self.library = library
        self.access = access
    }

    enum CodingKeys: String, CodingKey {
        case pid, program, target, socket, library, access
        case protocolVersion = "protocol_version"
        case schemaVersion = "schema_version"
        case poolName = "pool_name"
        case startedAt = "started_at"
    }
}

/// `GET /v1/snapshot`: the snapshot (its events after the cursor only) and the newest event's sequence.
public struct ControlSnapshotResponse: Sendable, Equatable, Codable {
    public var protocolVersion: Int
    public var snapshot: ManagerSnapshot
    /// The newest retained event's ``PoolEvent/sequence`` (0 before the first event): the next poll's
    /// `events_after`.
    public var eventsCursor: Int
    /// The health sequence of the newest check in the service's `health_history` (0 while it is empty): the next
    /// poll's `health_after`. Sequences number the manager's checks of all targets from 1, never reused.
    public var healthCursor: Int?
    /// How many checks the service's `health_history` holds (its window; the whole of it, even in a delta).
    public var healthCount: Int?
    /// Present when `snapshot.health_history` holds only the checks after this sequence (the request's
    /// `health_after`, found in the history); absent when it is the whole history.
    public var healthHistoryAfter: Int?

    public init(
        protocolVersion: Int = ControlProtocol.version, snapshot: ManagerSnapshot, eventsCursor: Int,
        healthCursor: Int? = nil, healthCount: Int? = nil, healthHistoryAfter: Int? = nil
    ) {
        self.protocolVersion = protocolVersion
        self.snapshot = snapshot
        self.eventsCursor = eventsCursor
        self.healthCursor = healthCursor
        self.healthCount = healthCount
        self.healthHistoryAfter = healthHistoryAfter
    }

    enum CodingKeys: String, CodingKey {
        case snapshot
        case protocolVersion = "protocol_version"
        case eventsCursor = "events_cursor"
        case healthCursor = "health_cursor"
        case healthCount = "health_count"
        case healthHistoryAfter = "health_history_after"
    }
}

/// `GET /v1/leaks/{id}/stack`.
public struct ControlStackResponse: Sendable, Equatable, Codable {
    public var protocolVersion: Int
    public var connectionID: Int
    /// Symbolicated in the service (file:line where debug info allows); empty when no stack was captured.
    public var frames: [StackFrame]

    public init(protocolVersion: Int = ControlProtocol.version, connectionID: Int, frames: [StackFrame]) {
        self.protocolVersion = protocolVersion
        self.connectionID = connectionID
        self.frames = frames
    }

    enum CodingKeys: String, CodingKey {
        case frames
        case protocolVersion = "protocol_version"
        case connectionID = "connection_id"
    }
}

/// The body of `POST /v1/commands`.
public struct ControlCommandRequest: Sendable, Equatable, Codable {
    /// `suspend`, `resume`, `evict`, `failover`, `terminate`, `cancel_backend` or `terminate_backend`.
    public var command: String
    /// `failover`: the target index (0 = `DATABASE_URL`); absent = the next suitable one.
    public var target: Int?
    /// `terminate`: the leaked connection's id.
    public var connectionID: Int?
    /// `cancel_backend`, `terminate_backend`: the server session's pid.
    public var pid: Int32?

    public init(command: String, target: Int? = nil, connectionID: Int? = nil, pid: Int32? = nil) {
        self.command = command
        self.target = target
        self.connectionID = connectionID
        self.pid = pid
    }

    /// The request for `command` (what `pooltop ctl` sends).
    public init(_ command: MonitorCommand) {
        switch command {
        case .suspend: self.init(command: "suspend")
        case .resume: self.init(command: "resume")
        case .evictIdle: self.init(command: "evict")
        case .failover(let target): self.init(command: "failover", target: target)
        case .terminateLeak(let id): self.init(command: "terminate", connectionID: id)
        case .cancelBackend(let pid): self.init(command: "cancel_backend", pid: pid)
        case .terminateBackend(let pid): self.init(command: "terminate_backend", pid: pid)
        }
    }

    enum CodingKeys: String, CodingKey {
        case command, target, pid
        case connectionID = "connection_id"
    }
}

/// The response of `POST /v1/commands` (also the 403 and 409 bodies).
public struct ControlCommandResponse: Sendable, Equatable, Codable {
    public var succeeded: Bool
    public var message: String
    public var protocolVersion: Int

    public init(succeeded: Bool, message: String, protocolVersion: Int = ControlProtocol.version) {
        self.succeeded = succeeded
        self.message = message
        self.protocolVersion = protocolVersion
    }

    enum CodingKeys: String, CodingKey {
        case succeeded, message
        case protocolVersion = "protocol_version"
    }
}
