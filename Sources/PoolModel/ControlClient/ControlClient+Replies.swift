#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension ControlClient {
    /// `GET /v1/info`.
    public struct Info: Sendable, Equatable, Decodable {
        public var protocolVersion: Int
        public var schemaVersion: Int?
        /// `DB_POOL_NAME` (default: the process name).
        public var poolName: String
        public var pid: Int32
        /// The service's process name.
        public var program: String?
        public var startedAt: Date?
        /// The masked URL of the current target.
        public var target: String?
        /// The socket path the service serves on.
        public var socket: String?
        /// e.g. `pooltop 0.4.0`.
        public var library: String?
        /// `act` or `read`: what this peer may do.
        public var access: String?

        public init(
            protocolVersion: Int = ControlClient.protocolVersion, schemaVersion: Int? = 1, poolName: String,
            pid: Int32, program: String? = nil, startedAt: Date? = nil, target: String? = nil, socket: String? = nil,
            library: String? = nil, access: String? = nil
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

        /// The service's own keys: this is `ControlInfo` read leniently (an older or newer peer may lack some).
        typealias CodingKeys = ControlInfo.CodingKeys

        /// True unless the service said this peer may only read.
        public var mayAct: Bool { access != "read" }
    }

    /// `GET /v1/snapshot`.
    public struct SnapshotReply: Sendable, Equatable {
        public var snapshot: ManagerSnapshot
        /// The newest event's sequence (`nil` from a service that has no event sequences).
        public var eventsCursor: Int?
        /// `sequence` of each of `snapshot.events`, in order (`nil` where the service sent none).
        public var eventSequences: [Int?]
        /// The newest health check's sequence: the next `health_after` (`nil` from a service without them).
        public var healthCursor: Int?
        /// How many checks the service's health history holds (`nil` from a service that does not say).
        public var healthCount: Int?
        /// Set when `snapshot.healthHistory` holds only the checks after this sequence; `nil`: all of them.
        public var healthHistoryAfter: Int?

        public init(
            snapshot: ManagerSnapshot, eventsCursor: Int?, eventSequences: [Int?], healthCursor: Int? = nil,
            healthCount: Int? = nil, healthHistoryAfter: Int? = nil
        ) {
            self.snapshot = snapshot
            self.eventsCursor = eventsCursor
            self.eventSequences = eventSequences
            self.healthCursor = healthCursor
            self.healthCount = healthCount
            self.healthHistoryAfter = healthHistoryAfter
        }
    }

    /// `GET /v1/status`.
    public struct StatusReply: Sendable, Equatable {
        /// 200 (healthy) or 503 (not).
        public var isHealthy: Bool
        public var status: HealthStatus
        /// The body as the service wrote it (what `pooltop status --socket S --json` prints).
        public var json: [UInt8]
    }

    /// `POST /v1/commands`.
    public struct CommandReply: Sendable, Equatable {
        /// 200 done, 409 refused by the manager, 403 read-only peer, 400 bad command.
        public var status: Int
        public var succeeded: Bool
        /// The service's sentence.
        public var message: String
    }

    struct SnapshotEnvelope: Decodable {
        var protocolVersion: Int
        var snapshot: ManagerSnapshot
        var eventsCursor: Int?
        /// The events' `sequence` keys as sent (nil where missing), read apart from PoolEvent (which reads a
        /// missing one as 0) in the same pass: a second decode of the body would parse all of it again.
        var eventSequences: [Int?]
        var healthCursor: Int?
        var healthCount: Int?
        var healthHistoryAfter: Int?

        enum CodingKeys: String, CodingKey {
            case snapshot
            case protocolVersion = "protocol_version"
            case eventsCursor = "events_cursor"
            case healthCursor = "health_cursor"
            case healthCount = "health_count"
            case healthHistoryAfter = "health_history_after"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            protocolVersion = try container.decode(Int.self, forKey: .protocolVersion)
            snapshot = try container.decode(ManagerSnapshot.self, forKey: .snapshot)
            eventsCursor = try container.decodeIfPresent(Int.self, forKey: .eventsCursor)
            healthCursor = try container.decodeIfPresent(Int.self, forKey: .healthCursor)
            healthCount = try container.decodeIfPresent(Int.self, forKey: .healthCount)
            healthHistoryAfter = try container.decodeIfPresent(Int.self, forKey: .healthHistoryAfter)
            let sequences = try? container.decode(EventSequences.Snapshot.self, forKey: .snapshot)
            eventSequences =
                sequences?.events.map(\.sequence) ?? Array(repeating: nil, count: snapshot.events.count)
        }
    }

    /// Only the events' `sequence` keys of a snapshot reply.
    struct EventSequences: Decodable {
        struct Event: Decodable { var sequence: Int? }
        struct Snapshot: Decodable { var events: [Event] }
        var snapshot: Snapshot
    }

    struct StackReply: Decodable {
        var frames: [StackFrame]
    }

    struct ErrorBody: Decodable {
        var error: String?
        var protocolVersion: Int?

        enum CodingKeys: String, CodingKey {
            case error
            case protocolVersion = "protocol_version"
        }
    }

    struct CommandAnswer: Decodable {
        var succeeded: Bool?
        var message: String?
        var error: String?
    }

    /// `{"command": …, "target": N?, "connection_id": N?, "pid": N?}`.
    struct CommandBody: Encodable {
        var command: String
        var target: Int?
        var connectionID: Int?
        var pid: Int32?

        enum CodingKeys: String, CodingKey {
            case command, target, pid
            case connectionID = "connection_id"
        }

        init(_ command: MonitorCommand) {
            switch command {
            case .suspend: self.command = "suspend"
            case .resume: self.command = "resume"
            case .evictIdle: self.command = "evict"
            case .failover(let target):
                self.command = "failover"
                self.target = target
            case .terminateLeak(let id):
                self.command = "terminate"
                connectionID = id
            case .cancelBackend(let pid):
                self.command = "cancel_backend"
                self.pid = pid
            case .terminateBackend(let pid):
                self.command = "terminate_backend"
                self.pid = pid
            }
        }
    }
}
