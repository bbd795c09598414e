import CNCurses

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What the terminal delivered.
enum TerminalInput: Equatable {
    case key(Key)
    case resized
}

/// The only code that talks to ncurses: set up, draw a `Buffer`, read keys, tear down.
/// Main queue only (ncurses is not thread-safe).
@MainActor
final class CursesBackend {
    private let window: UnsafeMutablePointer<WINDOW>
    /// Glyph set for this terminal's locale (ASCII when the codeset is not UTF-8).
    let glyphs: Glyphs
    private(set) var colors: Int
    private var styleCache: [Style: (attr: attr_t, pair: Int32)] = [:]
    private var theme: Theme = .builtinDefault
    private var previous: Buffer?

    /// Why curses cannot draw on this terminal, as a message naming `TERM` and what is expected; nil when it can.
    ///
    /// Checked before `initscr`, which would print "Error opening terminal: ..." and exit 1 for an unknown `TERM`,
    /// and draws a blank screen on `TERM=dumb`.
    nonisolated static func terminalProblem(term: String?) -> String? {
        let advice = "set TERM to your terminal's type (such as xterm-256color), or use `pooltop status` in scripts"
        guard let term, !term.isEmpty else {
            return "TERM is not set: the dashboard needs the terminal type to draw; \(advice)"
        }
        let shown = term.count <= 40 ? term : String(term.prefix(40)) + "…"
        switch cnc_probe_terminal(term) {
        case 1: return nil
        case 2: return "TERM=\(shown) cannot move the cursor, so the dashboard cannot draw on it; \(advice)"
        case -1: return "TERM=\(shown): no terminfo database found (install ncurses-base or set TERMINFO); \(advice)"
        default: return "TERM=\(shown) is not a terminal type this system knows (no terminfo entry); \(advice)"
        }
    }

    init(theme: Theme) {
        setlocale(LC_ALL, "")
        let codeset = String(cString: nl_langinfo(nl_item(CODESET)))
        glyphs = codeset.uppercased().replacing("-", with: "") == "UTF8" ? .unicode : .ascii
        window = initscr()!
        cbreak()
        noecho()
        keypad(window, true)
        nodelay(window, true)
        curs_set(0)
        set_escdelay(25)
        colors = 0
        if has_colors() {
            start_color()
            use_default_colors()
            colors = Int(cnc_colors())
        }
        apply(theme)
    }

    /// Sets up color pairs for a theme (degraded to what the terminal has) and forces a full redraw.
    func apply(_ theme: Theme) {
        let usable = theme.isMonochrome || colors < 8 ? nil : theme.degraded(toColors: colors)
        self.theme = usable ?? Theme(name: theme.name, styles: theme.styles, isMonochrome: true)
        if let usable {
            for (i, role) in Role.allCases.enumerated() {
                let s = usable.style(for: role)
                init_pair(Int16(i + 1), Self.number(s.foreground), Self.number(s.background))
            }
        }
        styleCache.removeAll()
        previous = nil
    }

    private static func number(_ c: ThemeColor) -> Int16 {
        switch c {
        case .terminalDefault: return -1
        case .index(let i): return Int16(i)
        }
    }

    private func attributes(for style: Style) -> (attr: attr_t, pair: Int32) {
        if let cached = styleCache[style] { return cached }
        let roleStyle = theme.style(for: style.role)
        let emphasis = roleStyle.emphasis.union(style.emphasis)
        var attr = cnc_a_normal()
        if emphasis.contains(.bold) { attr |= cnc_a_bold() }
        if emphasis.contains(.dim) { attr |= cnc_a_dim() }
        if emphasis.contains(.reverse) { attr |= cnc_a_reverse() }
        if emphasis.contains(.underline) { attr |= cnc_a_underline() }
        let pair: Int32 = theme.isMonochrome ? 0 : Int32(Role.allCases.firstIndex(of: style.role)! + 1)
        styleCache[style] = (attr, pair)
        return (attr, pair)
    }

    /// Copies a frame to the terminal: only rows that changed since the last frame, one
    /// `doupdate` at the end (no erase, so no flicker).
    func draw(_ buffer: Buffer) {
        let full = previous == nil || previous!.width != buffer.width || previous!.height != buffer.height
        if full { werase(window) }
        let width = buffer.width
        for y in 0..<buffer.height {
            let rowStart = y * width
            if !full, previous!.cells[rowStart..<rowStart + width] == buffer.cells[rowStart..<rowStart + width] {
                continue
            }
            var x = 0
            while x < width {
                let style = buffer.cells[rowStart + x].style
                var run = ""
                let start = x
                while x < width, buffer.cells[rowStart + x].style == style {
                    let symbol = buffer.cells[rowStart + x].symbol
                    if symbol != Cell.continuationSymbol {
                        if glyphs.isUnicode || symbol.isASCII { run.append(symbol) } else { run.append("?") }
                    }
                    x += 1
                }
                let a = attributes(for: style)
                _ = cnc_attr_set(window, a.attr, a.pair)
                // The bottom-right cell makes addstr return ERR (it would scroll); the text is drawn anyway.
                _ = cnc_put(window, Int32(y), Int32(start), run)
            }
        }
        wnoutrefresh(window)
        doupdate()
        previous = buffer
    }

    /// The terminal's size (rows × columns as curses sees it).
    var size: (width: Int, height: Int) { (Int(cnc_cols()), Int(cnc_lines())) }

    /// Asks the kernel for the window size and tells curses (after SIGWINCH).
    func resizeFromTerminal() {
        var rows: Int32 = 0
        var cols: Int32 = 0
        if cnc_terminal_size(STDOUT_FILENO, &rows, &cols) == 0, rows > 0, cols > 0 {
            resizeterm(rows, cols)
        }
        previous = nil
    }

    /// Drains every pending key (non-blocking).
    func readInput() -> [TerminalInput] {
        var out: [TerminalInput] = []
        while true {
            var ch: wint_t = 0
            let r = wget_wch(window, &ch)
            if r == cnc_err() { break }
            if r == cnc_key_code_yes() {
                switch Int32(ch) {
                case KEY_UP: out.append(.key(.up))
                case KEY_DOWN: out.append(.key(.down))
                case KEY_LEFT: out.append(.key(.left))
                case KEY_RIGHT: out.append(.key(.right))
                case KEY_ENTER: out.append(.key(.enter))
                case KEY_BTAB: out.append(.key(.backTab))
                case KEY_NPAGE: out.append(.key(.pageDown))
                case KEY_PPAGE: out.append(.key(.pageUp))
                case KEY_HOME: out.append(.key(.home))
                case KEY_END: out.append(.key(.end))
                case KEY_BACKSPACE: out.append(.key(.backspace))
                case cnc_key_resize(): out.append(.resized)
                case cnc_key_f(1)...cnc_key_f(12): out.append(.key(.function(Int(Int32(ch) - cnc_key_f(0)))))
                default: break
                }
                continue
            }
            switch ch {
            case 9: out.append(.key(.tab))
            case 10, 13: out.append(.key(.enter))
            case 27: out.append(.key(.escape))
            case 8, 127: out.append(.key(.backspace))
            default:
                if let scalar = Unicode.Scalar(UInt32(ch)), ch >= 32, ch != 127 {
                    out.append(.key(.character(Character(scalar))))
                }
            }
        }
        return out
    }

    /// Leaves curses mode (idempotent).
    func end() {
        if isendwin() == false { endwin() }
    }
}
