import Foundation

/// What the control endpoint serves from: the manager (a protocol so the endpoint holds it weakly and tests
/// can look at the shell alone).
protocol ControlService: AnyObject, Sendable {
    /// Two short locks, no I/O: safe on the endpoint's queue.
    func controlSnapshot() -> ControlSnapshot
    /// Built from ``snapshot()``: no I/O.
    func healthStatus() -> HealthStatus
    /// `/v1/info` facts for a peer with `access`.
    func controlInfo(access: PeerAccess, socket: String) -> ControlInfo
    /// The symbolicated checkout stack, nil when the connection is neither checked out nor a recent leak.
    /// Symbolication takes milliseconds: called off the endpoint's queue.
    func knownCheckoutStack(connectionID: Int) -> [StackFrame]?
    /// Runs a command for `peer`; may block on the network. Called on the endpoint's command queue.
    func perform(_ command: MonitorCommand, by peer: ControlPeer) -> MonitorCommandOutcome
}

/// A snapshot and the health sequence of each of its `healthHistory` results (oldest first, strictly
/// increasing; one counter over all the manager's targets), for `GET /v1/snapshot?health_after=N`.
struct ControlSnapshot: Sendable, Equatable {
    var snapshot: ManagerSnapshot
    var healthSequences: [Int]
}
