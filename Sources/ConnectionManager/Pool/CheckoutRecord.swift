import Foundation

/// One connection lent right now: who took it, when and where. A copy; it does not follow later changes.
public struct CheckoutRecord: Sendable, Equatable {
    /// The pool's id of the physical connection (stable while it lives, never reused).
    public var connectionID: Int
    /// The server process serving this connection (`PQbackendPID`).
    public var backendPID: Int32
    /// Wall-clock time of the checkout (derived from the monotonic time; immune to later clock changes).
    public var checkedOutAt: Date
    /// Monotonic time of the checkout (`CLOCK_MONOTONIC`, nanoseconds); compare with `MonotonicClock.now`.
    public var checkedOutAtNanoseconds: Int64
    /// Name of the thread that checked it out (cached per thread on its first checkout).
    public var threadName: String
    /// Checkout stack, when the caller asked for one.
    public var stack: CapturedStack?
    /// The last statement the holder reported through `Lease.recordSQL(_:)`.
    public var lastSQL: String?
    /// The holder said this session is expected to be long (no leak alarm).
    public var isExpectedLong: Bool
    /// The pool generation the connection belongs to.
    public var generation: Int

    public init(
        connectionID: Int, backendPID: Int32, checkedOutAt: Date, checkedOutAtNanoseconds: Int64,
        threadName: String, stack: CapturedStack? = nil, lastSQL: String? = nil, isExpectedLong: Bool = false,
        generation: Int = 0
    ) {
        self.connectionID = connectionID
        self.backendPID = backendPID
        self.checkedOutAt = checkedOutAt
        self.checkedOutAtNanoseconds = checkedOutAtNanoseconds
        self.threadName = threadName
        self.stack = stack
        self.lastSQL = lastSQL
        self.isExpectedLong = isExpectedLong
        self.generation = generation
    }

    /// The leak detector's view of this record.
    public func connectionInfo(target: String) -> ConnectionInfo {
        ConnectionInfo(
            connectionID: connectionID, backendPID: backendPID, checkedOutAt: checkedOutAt, threadName: threadName,
            lastSQL: lastSQL, isExpectedLong: isExpectedLong, target: target, stack: stack)
    }
}
