/// Whether a connection may be lent as it is: the one rule for recycling (`poolRecycle`) and pre-ping
/// (`prePingAfterIdle`), applied by the state machine when it lends and by the lock-free lane when it lends.
///
/// Times are monotonic nanoseconds. A connection older than the recycle age is closed and replaced; one idle
/// longer than the pre-ping threshold (any idle time when it is 0) is pinged first.
struct ReuseRule: Equatable, Sendable {
    /// `nil`: never recycled for age.
    var recycleNanoseconds: Int64?
    /// `nil`: never pinged; 0: pinged at every checkout.
    var prePingNanoseconds: Int64?

    init(recycleNanoseconds: Int64?, prePingNanoseconds: Int64?) {
        self.recycleNanoseconds = recycleNanoseconds
        self.prePingNanoseconds = prePingNanoseconds
    }

    init(_ configuration: PoolConfiguration) {
        self.init(
            recycleNanoseconds: configuration.recycle?.nanoseconds,
            prePingNanoseconds: configuration.prePingAfterIdle?.nanoseconds)
    }

    /// Opened at `openedAt`, the connection has outlived the recycle age at `now` (strictly more than it).
    @inline(__always)
    func isTooOld(openedAt: Int64, now: Int64) -> Bool {
        guard let recycleNanoseconds else { return false }
        return now - openedAt > recycleNanoseconds
    }

    /// Idle since `idleSince`, the connection must be pinged before it is lent at `now`.
    @inline(__always)
    func needsPing(idleSince: Int64, now: Int64) -> Bool {
        guard let prePingNanoseconds else { return false }
        return prePingNanoseconds == 0 || now - idleSince > prePingNanoseconds
    }
}
