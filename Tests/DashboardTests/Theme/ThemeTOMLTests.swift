import Testing

@testable import Dashboard

/// The TOML subset theme files are read with (no TOMLKit: it imports Foundation).
@Suite("Theme TOML")
struct ThemeTOMLTests {
    func syntaxError(_ text: String) -> ThemeTOML.SyntaxError? {
        do {
            _ = try ThemeTOML.parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func everyShippedThemeParsesToTheSameValuesAsTheirLiterals() throws {
        let table = try ThemeTOML.parse(
            """
            # comment
            name = "dark-256"   # trailing comment
            monochrome = false
            [roles]
            accent = { fg = 75, bg = "default", attrs = ["bold", 'dim'] }
            "quoted key" = { fg = +7 }
            dotted.fg = 1_000
            list = [
              1,  # one
              2,
            ]
            """)
        #expect(table.keys == ["name", "monochrome", "roles"])
        #expect(table["name"]?.string == "dark-256")
        #expect(table["monochrome"]?.bool == false)
        let roles = try #require(table["roles"]?.table)
        #expect(roles.keys == ["accent", "quoted key", "dotted", "list"])
        let accent = try #require(roles["accent"]?.table)
        #expect(accent.keys == ["fg", "bg", "attrs"])
        #expect(accent["fg"]?.int == 75)
        #expect(accent["attrs"]?.array == [.string("bold"), .string("dim")])
        #expect(roles["quoted key"]?.table?["fg"]?.int == 7)
        #expect(roles["dotted"]?.table?["fg"]?.int == 1000)
        #expect(roles["list"]?.array == [.integer(1), .integer(2)])
    }

    @Test func stringsEscapesAndNumbers() throws {
        let table = try ThemeTOML.parse(
            #"a = "tab\there \"q\" \u00e9 \\"\#nb = 'C:\no\escape'\#nc = -3.5e1\#nd = [ ]\#ne = {}\#n[x.y]\#nz = true"#)
        #expect(table["a"]?.string == "tab\there \"q\" é \\")
        #expect(table["b"]?.string == #"C:\no\escape"#)
        #expect(table["c"] == .float(-35))
        #expect(table["d"]?.array == [])
        #expect(table["e"]?.table?.keys == [])
        #expect(table["x"]?.table?["y"]?.table?["z"]?.bool == true)
        #expect(ThemeTOML.Value.string("bl\"ink").description == #""bl\"ink""#)
    }

    @Test(arguments: [
        ("name = \"x\"\n[roles]\ntext = { fg = \"red\" \n", 3, "unterminated inline table"),
        ("a = 1\na = 2\n", 2, "defined twice"),
        ("[roles]\n[roles]\n", 2, "defined twice"),
        ("a = \"open\n", 1, "unterminated string"),
        ("a = red\n", 1, "not a value"),
        ("a = 1 2\n", 1, "end of the line"),
        ("a = 1979-05-27\n", 1, "dates"),
        ("a = 0x1F\n", 1, "hexadecimal"),
        ("a = 012\n", 1, "not a value"),
        ("a = \"\"\"x\"\"\"\n", 1, "multi-line"),
        ("[[roles]]\n", 1, "arrays of tables"),
        ("\n\n = 1\n", 3, "expected a key"),
        ("r = { fg = 1 }\n[r]\n", 2, "inline table"),
        ("a = 1\n[a]\n", 2, "already a value"),
        ("a = [1, 2\n", 2, "unterminated array"),
        ("a = \"\\q\"\n", 1, "invalid escape"),
        ("a =\n", 1, "expected a value"),
    ])
    func errorsNameTheLine(text: String, line: Int, message: String) throws {
        let error = try #require(syntaxError(text), "\(text.debugDescription) parsed")
        #expect(error.line == line, "\(text.debugDescription): \(error)")
        #expect(error.message.contains(message), "\(text.debugDescription): \(error)")
    }
}
