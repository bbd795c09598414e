/// When the pool captures a checkout stack (for leak reports).
///
/// A capture costs ≈ 5 µs with the cached image map (see `CapturedStack`); symbolication happens only when a
/// person looks at a leak.
public enum StackCaptureMode: Sendable, Equatable, Hashable {
    /// Never capture: `ConnectionInfo.stack` stays `nil`.
    case off
    /// Capture on every checkout.
    case always
    /// Capture one checkout in `every` (numbers 0, every, 2 × every, …); `every` ≤ 1 means always.
    case sampled(every: Int)

    /// Whether the checkout with this number (0-based, counted by the pool) captures its stack.
    public func shouldCapture(checkoutNumber: Int) -> Bool {
        switch self {
        case .off:
            return false
        case .always:
            return true
        case .sampled(let every):
            return every <= 1 || checkoutNumber % every == 0
        }
    }
}
