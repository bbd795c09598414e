/// One terminal cell: what to draw and how.
public struct Cell: Sendable, Equatable {
    /// The grapheme shown. `Cell.continuation` marks the right half of a wide character.
    public var symbol: Character
    public var style: Style

    public init(_ symbol: Character = " ", _ style: Style = .text) {
        self.symbol = symbol
        self.style = style
    }

    /// Placeholder after a double-width character; the backend skips it and `lines` omits it.
    public static let continuationSymbol: Character = "\u{0}"
    public static let blank = Cell()
}

/// An off-screen grid of cells that widgets draw into; only the backend copies it to the terminal.
///
/// Writes outside the buffer are clipped silently, so widgets never need to bounds-check.
public struct Buffer: Sendable, Equatable {
    public private(set) var width: Int
    public private(set) var height: Int
    public private(set) var cells: [Cell]
    /// The glyph set widgets draw with (Unicode or the ASCII fallback).
    public var glyphs: Glyphs

    public init(width: Int, height: Int, glyphs: Glyphs = .unicode) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.cells = Array(repeating: .blank, count: self.width * self.height)
        self.glyphs = glyphs
    }

    /// A buffer holding these lines of plain text (for tests); the width is the longest line.
    public init(lines: [String], glyphs: Glyphs = .unicode) {
        let width = lines.map { $0.count }.max() ?? 0
        self.init(width: width, height: lines.count, glyphs: glyphs)
        for (y, line) in lines.enumerated() {
            write(line, x: 0, y: y, maxWidth: width)
        }
    }

    public var area: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    /// The text of each row, wide characters once, styles dropped.
    public var lines: [String] {
        (0..<height).map { y in
            var s = ""
            s.reserveCapacity(width)
            for x in 0..<width {
                let c = cells[y * width + x].symbol
                if c != Cell.continuationSymbol { s.append(c) }
            }
            return s
        }
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            cells[y * width + x] = newValue
        }
    }

    /// Sets one cell (clipped).
    @inline(__always)
    public mutating func set(_ x: Int, _ y: Int, _ symbol: Character, _ style: Style) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        cells[y * width + x] = Cell(symbol, style)
    }

    /// Fills an area with one symbol and style.
    public mutating func fill(_ rect: Rect, _ symbol: Character = " ", _ style: Style = .text) {
        let x0 = max(0, rect.x), x1 = min(width, rect.maxX)
        let y0 = max(0, rect.y), y1 = min(height, rect.maxY)
        guard x0 < x1, y0 < y1 else { return }
        let cell = Cell(symbol, style)
        for y in y0..<y1 {
            let base = y * width
            for x in x0..<x1 { cells[base + x] = cell }
        }
    }

    /// Restyles an area without changing its symbols (e.g. highlighting a selected row).
    public mutating func restyle(_ rect: Rect, _ style: Style) {
        let x0 = max(0, rect.x), x1 = min(width, rect.maxX)
        let y0 = max(0, rect.y), y1 = min(height, rect.maxY)
        guard x0 < x1, y0 < y1 else { return }
        for y in y0..<y1 {
            for x in x0..<x1 { cells[y * width + x].style = style }
        }
    }

    /// Writes text on one row, at most `maxWidth` columns, ending in an ellipsis when cut.
    /// Each character is drawn as ``Text/displayForm(of:)`` says (controls and bidi controls as `?`, zero-width
    /// characters dropped). Returns the number of columns used.
    @discardableResult
    public mutating func write(_ text: String, x: Int, y: Int, maxWidth: Int, style: Style = .text) -> Int {
        guard maxWidth > 0 else { return 0 }
        let fits = Text.width(of: text) <= maxWidth
        var col = 0
        let limit = fits ? maxWidth : maxWidth - 1
        outer: for ch in text {
            let shown = ch.isASCII ? (Text.isControl(ch) ? "?" : String(ch)) : Text.displayForm(of: ch)
            for cell in shown {
                let w = Text.cellWidth(of: cell)
                if col + w > limit { break outer }
                if !glyphs.isUnicode && !cell.isASCII {
                    // The ASCII fallback: one substitute, padded when the original takes two columns.
                    set(x + col, y, Glyphs.asciiSubstitute(for: cell), style)
                    if w == 2 { set(x + col + 1, y, " ", style) }
                } else if w == 2 {
                    set(x + col, y, cell, style)
                    set(x + col + 1, y, Cell.continuationSymbol, style)
                } else {
                    set(x + col, y, cell, style)
                }
                col += w
            }
        }
        if !fits {
            set(x + col, y, glyphs.ellipsis, style)
            col += 1
        }
        return col
    }

    /// Writes styled spans one after another on a row inside `rect`'s width; returns columns used.
    @discardableResult
    public mutating func write(_ spans: [Span], in rect: Rect, row: Int = 0) -> Int {
        var col = 0
        for span in spans {
            let room = rect.width - col
            if room <= 0 { break }
            col += write(span.text, x: rect.x + col, y: rect.y + row, maxWidth: room, style: span.style)
        }
        return col
    }
}

/// A run of text with one style.
public struct Span: Sendable, Equatable {
    public var text: String
    public var style: Style

    public init(_ text: String, _ style: Style = .text) {
        self.text = text
        self.style = style
    }
}
