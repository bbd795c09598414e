import Testing

@testable import Dashboard

/// Text that the database controls (queries, application names, errors) is drawn cell for cell as the terminal
/// draws it. Each case below broke the layout before the complete width table (issue 10, bad input 6).
@Suite("Text: hostile and exotic text")
struct TextTests {
    /// Writes `text` into a one-row buffer of `width` with a border cell on each side, as a panel would.
    private func row(_ text: String, width: Int = 12) -> [Cell] {
        var buffer = Buffer(width: width + 2, height: 1)
        buffer.set(0, 0, "│", .text)
        buffer.set(width + 1, 0, "│", .text)
        buffer.write(text, x: 1, y: 0, maxWidth: width)
        return (0..<(width + 2)).map { buffer[$0, 0] }
    }

    /// The columns the cells take as a terminal draws them (continuations are the right half of a wide cell).
    private func drawnColumns(_ cells: [Cell]) -> Int {
        cells.reduce(0) { n, cell in
            cell.symbol == Cell.continuationSymbol
                ? n : n + (TerminalWidth.isWide(cell.symbol.unicodeScalars.first!.value) ? 2 : 1)
        }
    }

    @Test(
        "zero-width characters take no column (they drew none and left stale text)",
        arguments: ["\u{200B}", "\u{FEFF}", "\u{2060}", "\u{00AD}"])
    func zeroWidth(_ invisible: String) {
        let text = "ab\(invisible)cd"
        #expect(Text.width(of: text) == 4)
        let cells = row(text, width: 4)
        #expect(cells.map(\.symbol) == ["│", "a", "b", "c", "d", "│"])
    }

    @Test("emoji with default emoji presentation take two columns", arguments: ["✅", "⚡", "🚀", "🫠", "⌚", "🀄"])
    func wideEmoji(_ emoji: String) {
        #expect(Text.width(of: emoji) == 2)
        let cells = row("x\(emoji)y", width: 4)
        #expect(cells.map(\.symbol) == ["│", "x", Character(emoji), Cell.continuationSymbol, "y", "│"])
        #expect(drawnColumns(cells) == 6)
    }

    @Test("a ZWJ sequence or a skin tone is drawn as its first emoji, two columns")
    func zwjSequences() {
        for sequence in ["👨‍👩‍👧", "👍🏽", "🏳️‍🌈", "❤️"] {
            let shown = Text.displayForm(of: Character(sequence))
            #expect(shown.unicodeScalars.count == 1, "\(sequence) → \(shown.unicodeScalars.map { $0.value })")
            let cells = row(String(repeating: sequence, count: 10), width: 8)
            #expect(cells.first?.symbol == "│" && cells.last?.symbol == "│")
            #expect(drawnColumns(cells) == 10, "\(sequence) spills: \(cells.map(\.symbol))")
        }
    }

    @Test("a flag is drawn as its two letters")
    func flags() {
        #expect(Text.displayForm(of: "🇩🇪") == "DE")
        #expect(Text.width(of: "🇩🇪🇫🇷") == 4)
        #expect(row("🇩🇪🇫🇷", width: 4).map(\.symbol) == ["│", "D", "E", "F", "R", "│"])
    }

    @Test(
        "bidi and C1 controls never reach the terminal raw",
        arguments: [
            "\u{202E}", "\u{202D}", "\u{2066}", "\u{2069}", "\u{200F}", "\u{061C}", "\u{9B}", "\u{85}", "\u{1B}",
        ]
    )
    func controls(_ control: String) {
        let cells = row("a\(control)b", width: 3)
        #expect(cells.map(\.symbol) == ["│", "a", "?", "b", "│"])
    }

    @Test("East Asian wide text still takes two columns per character; cutting keeps the border")
    func eastAsian() {
        #expect(Text.width(of: "表x") == 3)
        #expect(Text.width(of: "ｱ") == 1)  // Halfwidth katakana.
        #expect(Text.width(of: "Ａ") == 2)  // Fullwidth Latin.
        let cells = row("表表表表表表表", width: 5)
        #expect(cells.first?.symbol == "│" && cells.last?.symbol == "│")
        #expect(drawnColumns(cells) == 7)
    }

    @Test("combining marks stay with their letter; a lone mark shows as ?")
    func combining() {
        #expect(Text.width(of: "e\u{301}") == 1)
        #expect(Text.displayForm(of: "e\u{301}") == "e\u{301}")
        #expect(Text.width(of: "\r\n") == 1)
        #expect(row("a\r\nb", width: 3).map(\.symbol) == ["│", "a", "?", "b", "│"])
    }
}
