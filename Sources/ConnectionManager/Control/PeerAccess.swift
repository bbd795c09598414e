/// What a peer on the control socket may do, decided from its credentials alone (pure).
///
/// - same uid as the service, or root: read and act;
/// - a member of the control group (its gid or one of its supplementary groups): read, and act only when the
///   group may act (`DB_CONTROL_GROUP_CAN_ACT`);
/// - anyone else: refused (the connection is closed without a byte).
///
/// The file mode already keeps others from connecting (0600, or 0660 with a group); this is the second lock,
/// which also holds when the socket sits in a directory others can reach or its mode was changed.
public enum PeerAccess: String, Sendable, Equatable, CaseIterable {
    case readAndAct = "act"
    case read
    case refused

    /// The policy of one endpoint.
    public struct Policy: Sendable, Equatable {
        /// The service's own uid.
        public var ownerUID: UInt32
        /// The resolved control group, if one is configured.
        public var group: UInt32?
        public var groupCanAct: Bool

        public init(ownerUID: UInt32, group: UInt32? = nil, groupCanAct: Bool = false) {
            self.ownerUID = ownerUID
            self.group = group
            self.groupCanAct = groupCanAct
        }
    }

    /// The access `peer` gets under `policy`.
    public static func decide(_ peer: ControlPeer, policy: Policy) -> PeerAccess {
        if peer.uid == policy.ownerUID || peer.uid == 0 { return .readAndAct }
        if let group = policy.group, peer.gid == group || peer.groups.contains(group) {
            return policy.groupCanAct ? .readAndAct : .read
        }
        return .refused
    }

    public var mayRead: Bool { self != .refused }
    public var mayAct: Bool { self == .readAndAct }
}

/// Rate limit for refusal log lines (pure): one line per `interval`; the next one says how many were not logged.
/// A peer that hammers the socket cannot flood the service's log.
struct RefusalLogLimiter: Sendable, Equatable {
    /// Seconds between two logged refusals.
    var interval: Double = 10
    private var lastLoggedAt: Double?
    private(set) var suppressed = 0

    init(interval: Double = 10) {
        self.interval = interval
    }

    /// A refusal happened at `now` (seconds on a monotonic clock): log it? `nil` = stay silent; otherwise the
    /// number of refusals left unlogged since the previous line.
    mutating func refusal(at now: Double) -> Int? {
        if let last = lastLoggedAt, now - last < interval {
            suppressed += 1
            return nil
        }
        lastLoggedAt = now
        defer { suppressed = 0 }
        return suppressed
    }
}
