#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Whose pool a monitor shows: the screen must never pass pooltop's own connections off as a service's.
public enum SourceDescription: Sendable, Equatable {
    /// A manager in the process that runs the dashboard (a service showing its own pool).
    case embedded
    /// pooltop's own probe pool (`pooltop --url`): the numbers describe pooltop's connections to the
    /// database, not any service's pool.
    case embeddedProbe
    /// A service's pool, read through its control endpoint.
    case attached(AttachedService)
}

/// The service behind a control socket, as its `GET /v1/info` described it.
public struct AttachedService: Sendable, Equatable {
    /// The service's process name (`program`).
    public var program: String
    public var pid: Int32
    /// `DB_POOL_NAME` (default: the process name).
    public var poolName: String
    public var socketPath: String
    /// False when the service lets this user read only (commands are refused with 403).
    public var mayAct: Bool

    public init(program: String, pid: Int32, poolName: String, socketPath: String, mayAct: Bool = true) {
        self.program = program
        self.pid = pid
        self.poolName = poolName
        self.socketPath = socketPath
        self.mayAct = mayAct
    }
}

/// Whether the snapshot a source returns is current.
public enum SourceStatus: Sendable, Equatable {
    /// The last poll succeeded (an embedded manager is always live).
    case live
    /// The last poll failed: the snapshot is the one received at `since`; `reason` says what went wrong;
    /// `checkedAt` is when the source last tried (so the age on screen is `checkedAt - since`). The source
    /// keeps retrying.
    case stale(since: Date, reason: String, checkedAt: Date)
}

extension MonitorSource {
    public var sourceDescription: SourceDescription { .embedded }
    public func sourceStatus() -> SourceStatus { .live }
}
