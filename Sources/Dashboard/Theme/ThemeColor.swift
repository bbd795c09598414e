/// A terminal color: the terminal's own default, or an index in the 256-color palette
/// (0–15 are the named 16 colors).
public enum ThemeColor: Sendable, Hashable {
    case terminalDefault
    case index(Int)

    /// Names accepted in theme files, by palette index.
    public static let names = [
        "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
        "bright-black", "bright-red", "bright-green", "bright-yellow", "bright-blue", "bright-magenta",
        "bright-cyan", "bright-white",
    ]

    /// Parses `default`, a name (`red`, `bright-cyan`, `gray`), or a palette index 0–255.
    public init?(name: String) {
        let n = name.lowercased().replacing("_", with: "-")
        if n == "default" || n == "none" {
            self = .terminalDefault
        } else if let i = Self.names.firstIndex(of: n) {
            self = .index(i)
        } else if n == "gray" || n == "grey" {
            self = .index(8)
        } else {
            return nil
        }
    }

    /// The closest color a terminal with `colors` colors can show (256 → 16 → 8).
    public func degraded(toColors colors: Int) -> ThemeColor {
        guard case .index(let i) = self else { return self }
        if colors >= 256 || i < colors { return self }
        var i16 = i
        if i >= 16 { i16 = Self.nearest16(i) }
        if colors >= 16 { return .index(i16) }
        // 8 colors: bright variants fall back to their base color.
        return .index(i16 >= 8 ? i16 - 8 : i16)
    }

    /// RGB of an xterm 256-palette entry.
    static func rgb(_ i: Int) -> (Int, Int, Int) {
        let base16 = [
            (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205),
            (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255),
            (255, 0, 255), (0, 255, 255), (255, 255, 255),
        ]
        if i < 16 { return base16[i] }
        if i >= 232 {
            let v = 8 + (i - 232) * 10
            return (v, v, v)
        }
        let c = i - 16
        let steps = [0, 95, 135, 175, 215, 255]
        return (steps[c / 36], steps[c / 6 % 6], steps[c % 6])
    }

    static func nearest16(_ i: Int) -> Int {
        let (r, g, b) = rgb(i)
        var best = 0
        var bestDistance = Int.max
        for j in 0..<16 {
            let (r2, g2, b2) = rgb(j)
            let d = (r - r2) * (r - r2) + (g - g2) * (g - g2) + (b - b2) * (b - b2)
            if d < bestDistance {
                bestDistance = d
                best = j
            }
        }
        return best
    }
}
