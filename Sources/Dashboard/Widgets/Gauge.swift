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

    /// Cells of a `width`-wide bar: the pool part, the boundary marker (0 or 1) and the overflow part.
    /// The pool part gets at least three quarters of the bar, so 9/10 in use looks like 90 %, not like
    /// 90 % of a third; the overflow part gets its share of the slots, at most a quarter, at least one cell.
    static func zones(width w: Int, capacity: Int, overflowCapacity: Int) -> (base: Int, marker: Int, overflow: Int) {
        guard overflowCapacity > 0, w >= 3 else { return (w, 0, 0) }
        let share = Int((Double(w) * Double(overflowCapacity) / Double(max(1, capacity + overflowCapacity))).rounded())
        let overflow = max(1, min(w / 4, share))
        return (w - overflow - 1, 1, overflow)
    }

    public func render(in area: Rect, into buffer: inout Buffer) {
        guard area.width > 0, area.height > 0 else { return }
        let g = buffer.glyphs
        let w = area.width
        let zones = Self.zones(width: w, capacity: capacity, overflowCapacity: overflowCapacity)
        let baseCells = zones.base
        let overflowStart = zones.base + zones.marker
        let overflowCells = zones.overflow
        let baseUsed = min(used, capacity)
        let overflowUsed = max(0, used - capacity)
        var filled = capacity > 0 ? Int((Double(baseCells * baseUsed) / Double(capacity)).rounded()) : 0
        if baseUsed > 0 { filled = max(1, filled) }
        // A pool not quite full never looks full.
        if baseUsed < capacity, baseCells > 1 { filled = min(filled, baseCells - 1) }
        var overflowFilled = 0
        if overflowUsed > 0, overflowCells > 0 {
            overflowFilled = Int(
                (Double(overflowCells * min(overflowUsed, overflowCapacity)) / Double(overflowCapacity)).rounded())
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
                } else if i < overflowStart {
                    // Where pool_size ends: a glyph of its own, not only a change of shade.
                    buffer.set(x, y, g.vertical, Style(overflowUsed > 0 ? .overflow : .text, .bold))
                } else if i - overflowStart < overflowFilled {
                    buffer.set(x, y, g.gaugeOverflow, Style(.overflow, .bold))
                } else {
                    buffer.set(x, y, g.gaugeEmpty, Style(.muted, .dim))
                }
            }
        }
    }
}
