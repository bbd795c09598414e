/// A horizontal bar of pool slots: the persistent part, then the overflow part with its own glyph
/// and role, then what is free.
public struct Gauge: Sendable {
    /// Connections in use.
    public var used: Int
    /// Persistent slots (`pool_size`).
    public var capacity: Int
    /// Extra slots allowed above `capacity` (`max_overflow`).
    public var overflowCapacity: Int

    public init(used: Int, capacity: Int, overflowCapacity: Int) {
        self.used = used
        self.capacity = capacity
        self.overflowCapacity = overflowCapacity
    }

    public func render(in area: Rect, into buffer: inout Buffer) {
        guard area.width > 0, area.height > 0 else { return }
        let g = buffer.glyphs
        let total = max(1, capacity + overflowCapacity)
        let w = area.width
        // The overflow zone gets at least one cell when overflow is allowed, so it is never invisible.
        var baseCells = capacity + overflowCapacity == 0 ? w : Int((Double(w * capacity) / Double(total)).rounded())
        if overflowCapacity > 0 { baseCells = min(baseCells, w - 1) }
        let overflowCells = w - baseCells
        let baseUsed = min(used, capacity)
        let overflowUsed = max(0, used - capacity)
        var filled = capacity > 0 ? Int((Double(baseCells * baseUsed) / Double(capacity)).rounded()) : 0
        if baseUsed > 0 { filled = max(1, filled) }
        var overflowFilled = 0
        if overflowUsed > 0 {
            overflowFilled =
                overflowCapacity > 0
                ? Int(
                    (Double(overflowCells * min(overflowUsed, overflowCapacity)) / Double(overflowCapacity)).rounded())
                : overflowCells
            overflowFilled = max(1, min(overflowCells, overflowFilled))
        }
        for row in 0..<area.height {
            let y = area.y + row
            for i in 0..<w {
                let x = area.x + i
                if i < baseCells {
                    if i < filled {
                        buffer.set(x, y, g.gaugeFull, Style(.gauge))
                    } else {
                        buffer.set(x, y, g.gaugeEmpty, Style(.muted))
                    }
                } else if i - baseCells < overflowFilled {
                    buffer.set(x, y, g.gaugeOverflow, Style(.overflow, .bold))
                } else {
                    buffer.set(x, y, g.gaugeEmpty, Style(.muted, .dim))
                }
            }
        }
    }
}
