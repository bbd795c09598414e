/// A bordered box with a title; content goes in `inner(of:)`.
public struct Block: Sendable {
    public var title: [Span]
    public var isFocused: Bool
    /// Text on the right of the top border (e.g. a count or a scroll position).
    public var trailing: [Span]

    public init(title: [Span], isFocused: Bool = false, trailing: [Span] = []) {
        self.title = title
        self.isFocused = isFocused
        self.trailing = trailing
    }

    public init(_ title: String, isFocused: Bool = false) {
        self.init(title: [Span(title, Style(.title, .bold))], isFocused: isFocused)
    }

    /// The area inside the border.
    public static func inner(of area: Rect) -> Rect { area.inset(by: 1) }

    /// Draws the block over whatever is there, clearing one cell around it first (for dialogs).
    public func renderFloating(in area: Rect, into buffer: inout Buffer) {
        buffer.fill(Rect(x: area.x - 1, y: area.y - 1, width: area.width + 2, height: area.height + 2), " ")
        render(in: area, into: &buffer)
    }

    public func render(in area: Rect, into buffer: inout Buffer) {
        guard area.width >= 2, area.height >= 2 else { return }
        let g = buffer.glyphs
        let style = isFocused ? Style(.accent, .bold) : Style(.border)
        buffer.fill(area, " ")
        buffer.fill(Rect(x: area.x + 1, y: area.y, width: area.width - 2, height: 1), g.horizontal, style)
        buffer.fill(Rect(x: area.x + 1, y: area.maxY - 1, width: area.width - 2, height: 1), g.horizontal, style)
        buffer.fill(Rect(x: area.x, y: area.y + 1, width: 1, height: area.height - 2), g.vertical, style)
        buffer.fill(Rect(x: area.maxX - 1, y: area.y + 1, width: 1, height: area.height - 2), g.vertical, style)
        buffer.set(area.x, area.y, g.topLeft, style)
        buffer.set(area.maxX - 1, area.y, g.topRight, style)
        buffer.set(area.x, area.maxY - 1, g.bottomLeft, style)
        buffer.set(area.maxX - 1, area.maxY - 1, g.bottomRight, style)
        let titleArea = Rect(x: area.x + 1, y: area.y, width: area.width - 2, height: 1)
        var spans = [Span(" ", style)]
        if isFocused { spans.append(Span("\(g.pointer) ", Style(.accent, .bold))) }
        spans += title + [Span(" ", style)]
        let used = buffer.write(spans, in: titleArea)
        let trailingWidth = trailing.reduce(0) { $0 + Text.width(of: $1.text) } + 2
        if !trailing.isEmpty, used + trailingWidth < titleArea.width {
            let x = titleArea.maxX - trailingWidth
            buffer.write(
                [Span(" ", style)] + trailing + [Span(" ", style)],
                in: Rect(x: x, y: area.y, width: trailingWidth, height: 1))
        }
    }
}
