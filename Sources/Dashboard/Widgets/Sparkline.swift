/// Bars of recent values, newest on the right; one or more rows tall.
public struct Sparkline: Sendable {
    public var values: [Double]
    /// The value drawn as a full bar; defaults to the largest value shown.
    public var maximum: Double?
    public var style: Style
    /// Values (by index into `values`) drawn as a failure mark instead of a bar.
    public var failed: Set<Int>
    public var failedStyle: Style

    public init(
        _ values: [Double], maximum: Double? = nil, style: Style = Style(.sparkline), failed: Set<Int> = [],
        failedStyle: Style = Style(.critical, .bold)
    ) {
        self.values = values
        self.maximum = maximum
        self.style = style
        self.failed = failed
        self.failedStyle = failedStyle
    }

    /// Draws the last `area.width` values, right-aligned; zero draws nothing, any positive value
    /// at least the lowest bar.
    public func render(in area: Rect, into buffer: inout Buffer) {
        guard !area.isEmpty, !values.isEmpty else { return }
        let count = min(area.width, values.count)
        let first = values.count - count
        let shown = values[first...]
        let top = maximum ?? (shown.max() ?? 0)
        let levels = area.height * 8
        let bars = buffer.glyphs.bars
        let x0 = area.x + area.width - count
        for (offset, value) in shown.enumerated() {
            let x = x0 + offset
            if failed.contains(first + offset) {
                buffer.set(x, area.maxY - 1, buffer.glyphs.cross, failedStyle)
                continue
            }
            guard value > 0, top > 0 else { continue }
            var level = Int((min(value, top) / top * Double(levels)).rounded())
            level = max(1, level)
            for row in 0..<area.height {
                let fill = min(8, level - row * 8)
                guard fill > 0 else { break }
                buffer.set(x, area.maxY - 1 - row, bars[fill - 1], style)
            }
        }
    }
}
