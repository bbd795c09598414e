/// Display width and truncation of text in terminal columns.
///
/// Text that the database or other sessions control (queries, application names, error messages) is drawn
/// through ``displayForm(of:)``: it never reaches the terminal raw, and every cell it takes is a cell the terminal
/// draws, so a row can neither leave stale text behind (zero-width characters counted as one column) nor spill
/// past its border (emoji counted as one column but drawn as two).
public enum Text {
    /// What a grapheme is drawn as: one grapheme, two letters (a flag), or nothing (dropped):
    /// - control characters (C0, DEL, C1 such as U+009B CSI), bidirectional controls (U+202A–U+202E,
    ///   U+2066–U+2069, U+200E/F, U+061C), line/paragraph separators, private-use and unassigned code points → `?`;
    /// - other zero-width format characters alone (U+200B, U+2060, U+FEFF, soft hyphen…) → dropped;
    /// - an emoji sequence (ZWJ, skin tone, variation selector, tags) → its first emoji alone;
    /// - a flag (two regional indicators) → its two letters (`🇩🇪` → `DE`);
    /// - anything else as it is (with its combining marks).
    public static func displayForm(of ch: Character) -> String {
        let scalars = ch.unicodeScalars
        guard let first = scalars.first else { return "" }
        if first.isASCII {
            // "\r\n" is one grapheme; anything below space is a control.
            if first.value < 0x20 || first.value == 0x7F { return "?" }
            if scalars.count == 1 { return String(ch) }
        }
        if isRegionalIndicator(first.value) {
            let letters = scalars.filter { isRegionalIndicator($0.value) }.compactMap {
                Unicode.Scalar($0.value - 0x1F1E6 + 0x41)
            }
            return String(String.UnicodeScalarView(letters))
        }
        switch first.isASCII ? .uppercaseLetter : first.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator, .privateUse, .unassigned, .surrogate:
            return "?"
        case .format:
            return isBidiControl(first.value) ? "?" : ""
        case .nonspacingMark, .enclosingMark, .spacingMark:
            return "?"  // A mark with nothing to combine with.
        default:
            break
        }
        if scalars.count == 1 { return String(ch) }
        // Keep the base and the combining marks that follow it; stop at anything that joins or modifies an emoji
        // (terminals disagree on how wide those sequences are) and drop every other format character.
        var kept = String.UnicodeScalarView()
        kept.append(first)
        for scalar in scalars.dropFirst() {
            let value = scalar.value
            if value == 0x200D || (0x1F3FB...0x1F3FF).contains(value) || (0xE0020...0xE007F).contains(value) {
                break
            }
            switch scalar.properties.generalCategory {
            case .nonspacingMark, .enclosingMark, .spacingMark:
                if (0xFE00...0xFE0F).contains(value) { continue }  // Variation selectors: the base decides.
                kept.append(scalar)
            default:
                continue
            }
        }
        return String(kept)
    }

    static func isRegionalIndicator(_ value: UInt32) -> Bool { (0x1F1E6...0x1F1FF).contains(value) }

    static func isBidiControl(_ value: UInt32) -> Bool {
        (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value) || value == 0x200E || value == 0x200F
            || value == 0x061C
    }

    /// Columns a character takes as drawn (``displayForm(of:)``): 0 when dropped, 2 for East Asian wide and full
    /// width characters and emoji, 2 for a flag's two letters, else 1.
    @inline(__always)
    public static func width(of ch: Character) -> Int {
        if ch.isASCII { return 1 }
        var n = 0
        for shown in displayForm(of: ch) { n += cellWidth(of: shown) }
        return n
    }

    /// Columns one already displayable grapheme (from ``displayForm(of:)``) takes.
    @inline(__always)
    static func cellWidth(of shown: Character) -> Int {
        guard let scalar = shown.unicodeScalars.first, !scalar.isASCII else { return 1 }
        return TerminalWidth.isWide(scalar.value) ? 2 : 1
    }

    /// Columns a string takes.
    public static func width(of text: String) -> Int {
        // Printable ASCII is by far the common case: one column per byte.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return text.utf8.count }
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
