/// The characters widgets draw with: Unicode blocks and box drawing, or plain ASCII when the
/// terminal's locale is not UTF-8.
public struct Glyphs: Sendable, Equatable {
    /// Sparkline levels, lowest to highest (index 0 = the smallest visible bar).
    public var bars: [Character]
    public var gaugeFull: Character
    public var gaugeOverflow: Character
    public var gaugeEmpty: Character
    public var horizontal: Character
    public var vertical: Character
    public var topLeft: Character
    public var topRight: Character
    public var bottomLeft: Character
    public var bottomRight: Character
    public var ellipsis: Character
    public var check: Character
    public var cross: Character
    public var warning: Character
    public var pointer: Character
    public var dot: Character
    public var up: Character
    public var down: Character
    public var arrow: String
    public var isUnicode: Bool

    public static let unicode = Glyphs(
        bars: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"], gaugeFull: "█", gaugeOverflow: "▓", gaugeEmpty: "░",
        horizontal: "─", vertical: "│", topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘",
        ellipsis: "…", check: "✓", cross: "✗", warning: "⚠", pointer: "▶", dot: "·", up: "↑", down: "↓",
        arrow: "→", isUnicode: true)

    public static let ascii = Glyphs(
        bars: ["_", "_", ".", ".", "-", "=", "#", "#"], gaugeFull: "#", gaugeOverflow: "%", gaugeEmpty: ".",
        horizontal: "-", vertical: "|", topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+",
        ellipsis: "~", check: "+", cross: "x", warning: "!", pointer: ">", dot: "-", up: "^", down: "v",
        arrow: "->", isUnicode: false)

    /// An ASCII stand-in for a character in text written to an ASCII buffer.
    static func asciiSubstitute(for ch: Character) -> Character {
        switch ch {
        case "·", "—", "–", "─": return "-"
        case "…": return "~"
        case "×": return "x"
        case "µ": return "u"
        case "✓": return "+"
        case "✗": return "x"
        case "⚠": return "!"
        case "▶": return ">"
        case "→": return ">"
        case "↑": return "^"
        case "↓": return "v"
        case "←": return "<"
        default: return "?"
        }
    }
}
