/// The theme files of `themes/`, compiled in, so a copied binary has every theme (files in `themes/` and
/// `$POOLTOP_THEMES` still override them). `ThemeTests` checks that each text equals its file: regenerate this
/// file when a theme changes (`ThemeTests.embeddedThemesEqualTheirFiles` fails until the text here matches).
enum EmbeddedThemes {
    static let texts: [String: String] = [
        "dark-256": """
        # pooltop dark-256: for dark backgrounds on 256-color terminals (tmux-256color, xterm-256color).
        # On 16/8-color terminals each index falls back to the nearest basic color.
        name = "dark-256"

        [roles]
        text      = { fg = 252 }
        muted     = { fg = 243 }
        accent    = { fg = 75, attrs = ["bold"] }
        ok        = { fg = 114 }
        warning   = { fg = 221 }
        critical  = { fg = 203, attrs = ["bold"] }
        gauge     = { fg = 71 }
        overflow  = { fg = 170, attrs = ["bold"] }
        sparkline = { fg = 110 }
        selection = { fg = 255, bg = 24 }
        border    = { fg = 240 }
        header    = { fg = 253, bg = 236 }
        title     = { fg = 117, attrs = ["bold"] }
        """,
        "default": """
        # pooltop default theme: the 16 basic colors only, readable on dark and light terminals.
        # Colors: "default" (the terminal's own), black red green yellow blue magenta cyan white,
        # bright-black … bright-white, or a 256-palette index 0-255 (degraded on terminals with fewer).
        # attrs: bold, dim, reverse, underline.
        name = "default"

        [roles]
        text      = { fg = "default" }
        muted     = { fg = "default", attrs = ["dim"] }
        accent    = { fg = "cyan", attrs = ["bold"] }
        ok        = { fg = "green" }
        warning   = { fg = "yellow" }
        critical  = { fg = "red", attrs = ["bold"] }
        gauge     = { fg = "green" }
        overflow  = { fg = "magenta", attrs = ["bold"] }
        sparkline = { fg = "cyan" }
        selection = { fg = "black", bg = "cyan" }
        border    = { fg = "blue" }
        header    = { fg = "white", bg = "blue" }
        title     = { fg = "default", attrs = ["bold"] }
        """,
        "high-contrast": """
        # pooltop high-contrast: bright basic colors, bold everywhere that matters, no dim text.
        name = "high-contrast"

        [roles]
        text      = { fg = "bright-white" }
        muted     = { fg = "white" }
        accent    = { fg = "bright-yellow", attrs = ["bold"] }
        ok        = { fg = "bright-green", attrs = ["bold"] }
        warning   = { fg = "black", bg = "bright-yellow", attrs = ["bold"] }
        critical  = { fg = "bright-white", bg = "red", attrs = ["bold"] }
        gauge     = { fg = "bright-green", attrs = ["bold"] }
        overflow  = { fg = "bright-magenta", attrs = ["bold"] }
        sparkline = { fg = "bright-cyan", attrs = ["bold"] }
        selection = { fg = "black", bg = "bright-white", attrs = ["bold"] }
        border    = { fg = "bright-white" }
        header    = { fg = "black", bg = "bright-white", attrs = ["bold"] }
        title     = { fg = "bright-yellow", attrs = ["bold"] }
        """,
        "light": """
        # pooltop light: dark text for light terminal backgrounds (256 colors, degrades to 16).
        name = "light"

        [roles]
        text      = { fg = 235 }
        muted     = { fg = 245 }
        accent    = { fg = 25, attrs = ["bold"] }
        ok        = { fg = 28 }
        warning   = { fg = 130 }
        critical  = { fg = 160, attrs = ["bold"] }
        gauge     = { fg = 30 }
        overflow  = { fg = 127, attrs = ["bold"] }
        sparkline = { fg = 31 }
        selection = { fg = 231, bg = 25 }
        border    = { fg = 250 }
        header    = { fg = 235, bg = 253 }
        title     = { fg = 24, attrs = ["bold"] }
        """,
        "monochrome": """
        # pooltop monochrome: attributes only (what NO_COLOR and --no-color use). States always carry a
        # glyph or a word (✓ ✗ ⚠, OK/FAIL), so nothing depends on color.
        name = "monochrome"
        monochrome = true

        [roles]
        text      = { }
        muted     = { attrs = ["dim"] }
        accent    = { attrs = ["bold"] }
        ok        = { }
        warning   = { attrs = ["bold"] }
        critical  = { attrs = ["bold", "underline"] }
        gauge     = { }
        overflow  = { attrs = ["bold"] }
        sparkline = { }
        selection = { attrs = ["reverse"] }
        border    = { attrs = ["dim"] }
        header    = { attrs = ["reverse"] }
        title     = { attrs = ["bold"] }
        """,
    ]
}
