/// A rectangle of terminal cells: origin at the top-left, sizes in columns and rows.
public struct Rect: Sendable, Equatable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    public var isEmpty: Bool { width <= 0 || height <= 0 }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var description: String { "(\(x),\(y) \(width)×\(height))" }

    /// The area inside a margin of `n` cells on every side (the inside of a border when `n` is 1).
    public func inset(by n: Int) -> Rect {
        Rect(x: x + n, y: y + n, width: width - 2 * n, height: height - 2 * n)
    }

    /// The same area with `n` columns removed on the left and right.
    public func insetHorizontally(by n: Int) -> Rect {
        Rect(x: x + n, y: y, width: width - 2 * n, height: height)
    }

    /// One row of this area (`row` counted from its top); empty when out of range.
    public func row(_ row: Int) -> Rect {
        guard row >= 0, row < height else { return Rect(x: x, y: y, width: 0, height: 0) }
        return Rect(x: x, y: y + row, width: width, height: 1)
    }

    /// A `width`×`height` area centered in this one (clamped to it).
    public func centered(width w: Int, height h: Int) -> Rect {
        let w = min(w, width)
        let h = min(h, height)
        return Rect(x: x + (width - w) / 2, y: y + (height - h) / 2, width: w, height: h)
    }
}
