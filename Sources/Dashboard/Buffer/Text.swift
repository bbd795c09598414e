/// Display width and truncation of text in terminal columns.
public enum Text {
    /// Columns a character takes: 2 for East Asian wide and emoji, else 1 (combining marks are
    /// already part of their grapheme).
    @inline(__always)
    public static func width(of ch: Character) -> Int {
        guard let scalar = ch.unicodeScalars.first else { return 1 }
        let v = scalar.value
        if v < 0x1100 { return 1 }
        switch v {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
            0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
            0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            return 2
        default:
            return 1
        }
    }

    /// Columns a string takes.
    public static func width(of text: String) -> Int {
        // ASCII is by far the common case: one column per byte.
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.utf8.count }
        var n = 0
        for ch in text { n += width(of: ch) }
        return n
    }

    static func isControl(_ ch: Character) -> Bool {
        guard let v = ch.unicodeScalars.first?.value else { return false }
        // C1 controls too: U+009B is a CSI to terminals that honour 8-bit controls.
        return v < 0x20 || (0x7F...0x9F).contains(v)
    }

    /// The text cut to `width` columns, ending in `ellipsis` when it was longer.
    public static func truncate(_ text: String, to width: Int, ellipsis: Character = "…") -> String {
        guard width > 0 else { return "" }
        if Text.width(of: text) <= width { return text }
        var out = ""
        var col = 0
        for ch in text {
            let w = Text.width(of: ch)
            if col + w > width - 1 { break }
            out.append(ch)
            col += w
        }
        out.append(ellipsis)
        return out
    }

    /// The text padded with spaces (or truncated) to exactly `width` columns.
    public static func pad(_ text: String, to width: Int, ellipsis: Character = "…") -> String {
        let t = truncate(text, to: width, ellipsis: ellipsis)
        let w = Text.width(of: t)
        return w >= width ? t : t + String(repeating: " ", count: width - w)
    }

    /// Right-aligns the text in `width` columns.
    public static func padLeft(_ text: String, to width: Int) -> String {
        let w = Text.width(of: text)
        return w >= width ? text : String(repeating: " ", count: width - w) + text
    }
}

extension Text {
    /// Greedy word wrap to `width` columns; words longer than a line are cut.
    public static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            let w = String(word)
            if current.isEmpty {
                current = truncate(w, to: width)
            } else if Text.width(of: current) + 1 + Text.width(of: w) <= width {
                current += " " + w
            } else {
                lines.append(current)
                current = truncate(w, to: width)
            }
        }
        if !current.isEmpty || lines.isEmpty { lines.append(current) }
        return lines
    }
}
