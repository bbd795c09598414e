import Foundation
import Testing

@testable import Dashboard

@Suite("Themes")
struct ThemeTests {
    static let themesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("themes").path

    var loader: ThemeLoader {
        ThemeLoader(environment: ["POOLTOP_THEMES": Self.themesDirectory], executableDirectory: nil)
    }

    @Test(arguments: DashboardState.shippedThemes)
    func shippedThemeLoads(name: String) throws {
        let theme = try loader.load(name)
        #expect(theme.name == name)
        #expect(Set(theme.styles.keys) == Set(Role.allCases), "every role is defined in \(name).toml")
        #expect(theme.isMonochrome == (name == "monochrome"))
    }

    @Test func shippedDefaultMatchesTheBuiltIn() throws {
        #expect(try loader.load("default") == Theme.builtinDefault)
        #expect(try loader.load("monochrome") == Theme.monochrome)
    }

    @Test func defaultIsSafeOn16Colors() throws {
        for style in try loader.load("default").styles.values {
            for c in [style.foreground, style.background] {
                if case .index(let i) = c { #expect(i < 16) }
            }
        }
    }

    @Test func missingFolderFallsBackToBuiltIns() throws {
        let none = ThemeLoader(environment: [:], executableDirectory: "/nonexistent/bin")
        #expect(try none.load("default") == Theme.builtinDefault)
        #expect(try none.load("monochrome") == Theme.monochrome)
        #expect(throws: ThemeError.self) { try none.load("dark-256") }
    }

    @Test func walksUpFromTheExecutableToFindThemes() throws {
        let repo = URL(fileURLWithPath: Self.themesDirectory).deletingLastPathComponent()
        let walker = ThemeLoader(
            environment: [:], executableDirectory: repo.appendingPathComponent(".build/debug").path)
        #expect(walker.searchDirectories() == [Self.themesDirectory])
        #expect(try walker.load("light").name == "light")
    }

    @Test func loadsByPath() throws {
        let theme = try loader.load(Self.themesDirectory + "/dark-256.toml")
        #expect(theme.style(for: .accent) == RoleStyle(.index(75), on: .terminalDefault, .bold))
    }

    @Test func unknownNameIsAnError() {
        do {
            _ = try loader.load("nope")
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .notFound)
            #expect(error.description.contains("nope"))
        }
    }

    func parseError(_ text: String) -> ThemeError? {
        do {
            _ = try ThemeLoader.parse(text, file: "bad.toml")
            return nil
        } catch {
            return error
        }
    }

    @Test func brokenTOMLNamesFileAndLine() throws {
        let e = try #require(parseError("name = \"x\"\n[roles]\ntext = { fg = \"red\" \n"))
        #expect(e.kind == .syntax)
        #expect(e.line == 3)
        #expect(e.description.hasPrefix("bad.toml:3"))
    }

    @Test func unknownRoleNamesKeyAndLine() throws {
        let e = try #require(parseError("[roles]\ntext = { fg = \"red\" }\ntxt = { fg = \"red\" }\n"))
        #expect(e.kind == .unknownRole)
        #expect(e.key == "roles.txt")
        #expect(e.line == 3)
        #expect(
            e.description
                == "bad.toml:3: unknown role \"txt\" (roles: \(Role.allCases.map(\.rawValue).joined(separator: ", "))) (key roles.txt)"
        )
    }

    @Test func badColorNamesKeyAndLine() throws {
        let e = try #require(parseError("[roles]\ntext = { fg = \"red\" }\naccent = { fg = \"purplish\" }\n"))
        #expect(e.kind == .badColor)
        #expect(e.key == "roles.accent.fg")
        #expect(e.line == 3)
        #expect(e.description.contains("purplish"))
        let range = try #require(parseError("[roles]\naccent = { bg = 300 }\n"))
        #expect(range.kind == .badColor)
        #expect(range.line == 2)
    }

    @Test func badAttribute() throws {
        let e = try #require(parseError("[roles]\naccent = { attrs = [\"blink\"] }\n"))
        #expect(e.kind == .badAttribute)
        #expect(e.key == "roles.accent.attrs")
    }

    @Test func noColorMeansMonochrome() throws {
        let env = ["NO_COLOR": "1", "POOLTOP_THEMES": Self.themesDirectory]
        let options = DashboardOptions(theme: "dark-256", environment: env)
        #expect(options.colorsDisabled)
        #expect(try ThemeLoader(environment: env, executableDirectory: nil).theme(for: options) == Theme.monochrome)
        let flag = DashboardOptions(theme: "dark-256", noColor: true, environment: [:])
        #expect(try loader.theme(for: flag).isMonochrome)
        let empty = DashboardOptions(theme: "dark-256", environment: ["NO_COLOR": ""])
        #expect(!empty.colorsDisabled, "NO_COLOR only counts when non-empty")
    }

    @Test func colorsDegrade() {
        #expect(ThemeColor.index(75).degraded(toColors: 256) == .index(75))
        #expect(ThemeColor.index(196).degraded(toColors: 16) == .index(9))  // bright red
        #expect(ThemeColor.index(196).degraded(toColors: 8) == .index(1))  // red
        #expect(ThemeColor.index(12).degraded(toColors: 8) == .index(4))
        #expect(ThemeColor.terminalDefault.degraded(toColors: 8) == .terminalDefault)
        let degraded = (try? loader.load("dark-256"))?.degraded(toColors: 8)
        for style in degraded?.styles.values.map({ $0 }) ?? [] {
            if case .index(let i) = style.foreground { #expect(i < 8) }
        }
    }
}
