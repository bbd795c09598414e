import ConnectionManager
import Foundation
import Testing

/// Captures the stack from a function with a name no other frame has.
@inline(never)
func pooltopCaptureProbeFunction() -> CapturedStack? {
    let stack = CapturedStack.capture()
    return withExtendedLifetime(stack) { stack }  // keeps this frame from being folded into the caller
}

@Suite("CapturedStack")
struct LeaksCapturedStackTests {
    @Test func symbolicatedFramesNameTheCapturingFunctionWithFileAndLine() throws {
        let stack = try #require(pooltopCaptureProbeFunction())
        #expect(stack.frameCount > 2)
        let frames = stack.symbolicated()
        let frame = try #require(frames.first { $0.symbol.contains("pooltopCaptureProbeFunction") })
        #expect(frame.file?.hasSuffix("CapturedStackTests.swift") == true)
        #expect((frame.line ?? 0) > 0)
        // The test function itself is further out on the same stack.
        #expect(frames.contains { $0.symbol.contains("symbolicatedFramesNameTheCapturingFunction") })
        // Cached: the second call returns the same frames.
        #expect(stack.symbolicated() == frames)
    }

    /// Prints capture and symbolication costs. Opt-in (timing is noise on a shared machine):
    /// `POOLTOP_MEASURE_CAPTURE=1 swift test -c release --filter LeaksCapturedStack`
    @Test(.enabled(if: ProcessInfo.processInfo.environment["POOLTOP_MEASURE_CAPTURE"] != nil))
    func measureCaptureAndSymbolicationCost() throws {
        let clock = ContinuousClock()
        _ = pooltopCaptureProbeFunction()  // warms the image map cache
        let iterations = 10_000
        var stacks: [CapturedStack] = []
        stacks.reserveCapacity(iterations)
        let captureTime = clock.measure {
            for _ in 0..<iterations {
                if let stack = pooltopCaptureProbeFunction() { stacks.append(stack) }
            }
        }
        #expect(stacks.count == iterations)
        var firstSymbolication = Duration.zero
        var laterSymbolications: [Duration] = []
        for (n, stack) in stacks.prefix(21).enumerated() {
            let elapsed = clock.measure { _ = stack.symbolicated() }
            if n == 0 { firstSymbolication = elapsed } else { laterSymbolications.append(elapsed) }
        }
        laterSymbolications.sort()
        let cached = clock.measure { _ = stacks[0].symbolicated() }
        print(
            """
            CapturedStack.capture(): \(captureTime / iterations) per capture (\(iterations) captures, \
            \(stacks[0].frameCount) frames)
            symbolicated(): first \(firstSymbolication), then median \(laterSymbolications[10]) \
            (max \(laterSymbolications.last!)), cached \(cached)
            """)
    }
}
