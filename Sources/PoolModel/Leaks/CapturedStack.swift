import Synchronization

/// A checkout stack captured cheaply as raw return addresses; symbolicated only when someone looks.
///
/// Capture walks the frame-pointer chain in C (≈ 0.1 µs: one small array, no symbol lookups), which is
/// cheap enough to do on every checkout. Symbolication (demangled names and file:line, via the
/// standard `Runtime` module and a process-wide cached `ImageMap`) costs milliseconds the first time
/// and is cached per stack.
public final class CapturedStack: Sendable, Equatable {
    package let addresses: [UInt]
    /// Inline (no allocation per capture, unlike an `NSLock`): most stacks are never symbolicated.
    package let cached = Mutex<[StackFrame]?>(nil)

    package init(addresses: [UInt]) {
        self.addresses = addresses
    }

    /// Number of raw frames captured.
    public var frameCount: Int { addresses.count }

    public static func == (lhs: CapturedStack, rhs: CapturedStack) -> Bool { lhs === rhs }
}
