import Foundation

extension Duration {
    /// This duration in seconds as a Foundation `TimeInterval`, for arithmetic with `Date`s.
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
