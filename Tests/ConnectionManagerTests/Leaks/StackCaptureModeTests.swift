import ConnectionManager
import Testing

@Suite("StackCaptureMode")
struct LeaksStackCaptureModeTests {
    @Test(arguments: [
        (StackCaptureMode.off, [false, false, false, false, false, false]),
        (.always, [true, true, true, true, true, true]),
        (.sampled(every: 3), [true, false, false, true, false, false]),
        (.sampled(every: 1), [true, true, true, true, true, true]),
        (.sampled(every: 0), [true, true, true, true, true, true]),
    ])
    func capturesTheRightCheckouts(mode: StackCaptureMode, expected: [Bool]) {
        #expect((0..<6).map { mode.shouldCapture(checkoutNumber: $0) } == expected)
    }

    @Test func sampledCapturesOneInN() {
        let captured = (0..<1000).filter { StackCaptureMode.sampled(every: 100).shouldCapture(checkoutNumber: $0) }
        #expect(captured == Array(stride(from: 0, to: 1000, by: 100)))
    }
}
