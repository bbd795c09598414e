/// How much of an axis one area of a `Layout` takes.
public enum Constraint: Sendable, Equatable {
    /// Exactly `n` cells (less only when there is not enough room).
    case length(Int)
    /// At least `n` cells, then a share of what is left like `.fill(1)`.
    case min(Int)
    /// A percentage (0–100) of the whole axis.
    case percentage(Int)
    /// A share (weight) of what remains after the fixed constraints.
    case fill(Int)
}

/// Splits a rectangle into areas along one axis; the only place panel geometry is computed.
public struct Layout: Sendable {
    public enum Direction: Sendable { case horizontal, vertical }

    public var direction: Direction
    public var constraints: [Constraint]
    /// Cells left empty between neighbouring areas.
    public var spacing: Int

    public init(_ direction: Direction, _ constraints: [Constraint], spacing: Int = 0) {
        self.direction = direction
        self.constraints = constraints
        self.spacing = spacing
    }

    public static func vertical(_ constraints: [Constraint], spacing: Int = 0) -> Layout {
        Layout(.vertical, constraints, spacing: spacing)
    }

    public static func horizontal(_ constraints: [Constraint], spacing: Int = 0) -> Layout {
        Layout(.horizontal, constraints, spacing: spacing)
    }

    /// The areas, in order. Fixed sizes are served first (in order, shrinking when short of room),
    /// then `min` and `fill` share the remainder by weight; the last flexible area takes rounding.
    public func split(_ area: Rect) -> [Rect] {
        let total = direction == .horizontal ? area.width : area.height
        let gaps = Swift.max(0, constraints.count - 1) * spacing
        var remaining = Swift.max(0, total - gaps)
        var sizes = [Int](repeating: 0, count: constraints.count)
        var weights = [Int](repeating: 0, count: constraints.count)
        for (i, c) in constraints.enumerated() {
            let want: Int
            switch c {
            case .length(let n): want = n
            case .min(let n): want = n; weights[i] = 1
            case .percentage(let p): want = total * p / 100
            case .fill(let w): want = 0; weights[i] = Swift.max(1, w)
            }
            let got = Swift.min(Swift.max(0, want), remaining)
            sizes[i] = got
            remaining -= got
        }
        let totalWeight = weights.reduce(0, +)
        if totalWeight > 0, remaining > 0 {
            var handed = 0
            let lastFlexible = weights.lastIndex { $0 > 0 }!
            for i in weights.indices where weights[i] > 0 {
                let share = i == lastFlexible ? remaining - handed : remaining * weights[i] / totalWeight
                sizes[i] += share
                handed += share
            }
        }
        var rects: [Rect] = []
        var offset = 0
        for size in sizes {
            switch direction {
            case .horizontal:
                rects.append(Rect(x: area.x + offset, y: area.y, width: size, height: area.height))
            case .vertical:
                rects.append(Rect(x: area.x, y: area.y + offset, width: area.width, height: size))
            }
            offset += size + spacing
        }
        return rects
    }
}
