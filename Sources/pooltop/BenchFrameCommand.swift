import ArgumentParser
import Dashboard

/// `pooltop bench-frame`: what one dashboard frame costs to render (hidden; for measurements).
struct BenchFrameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-frame",
        abstract: "Render frames of a busy snapshot off-screen and print the median and p95 time per frame.",
        shouldDisplay: false)

    @Option(help: "Frame width in columns.")
    var width = 200

    @Option(help: "Frame height in rows.")
    var height = 60

    @Option(help: "Frames measured (after 10 warm-up frames).")
    var iterations = 500

    func validate() throws {
        guard width > 0, height > 0, iterations > 0 else {
            throw ValidationError("--width, --height and --iterations must be positive")
        }
    }

    func run() throws {
        print(FrameBenchmark.measure(width: width, height: height, iterations: iterations))
    }
}
