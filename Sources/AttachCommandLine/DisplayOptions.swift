import ArgumentParser
import PoolModel

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Options of the dashboard itself. A flag beats the environment variable named in its help.
package struct DisplayOptions: ParsableArguments {
    @Option(
        name: .long, parsing: .unconditional,
        help: "Screen refresh interval, 50ms to 1h, e.g. 1s, 250ms (default 1s). Env: POOLTOP_REFRESH.")
    package var refresh: String?

    @Option(
        name: .long,
        help: "Theme name (default, dark-256, light, high-contrast, monochrome) or a .toml path. Env: POOLTOP_THEME.")
    package var theme: String?

    @Flag(name: .customLong("no-color"), help: "Monochrome (also when NO_COLOR is set).")
    package var noColor = false

    @Option(
        name: .long, parsing: .unconditional,
        help: "Run N (0 to 256) synthetic clients against the monitored database (default 0). Env: POOLTOP_LOAD.")
    package var load: String?

    @Option(
        name: .customLong("load-query"),
        help: "The statement the synthetic clients run (default SELECT 1). Env: POOLTOP_LOAD_QUERY.")
    package var loadQuery: String?

    package init() {}

    package struct Resolved {
        package var refresh: Duration
        package var theme: String
        package var noColor: Bool
        package var load: Int
        package var loadQuery: String
    }

    /// The flags, then the environment, then the defaults; throws a clear error for a bad value.
    package func resolve(environment: [String: String]) throws -> Resolved {
        let refreshText = refresh ?? environment["POOLTOP_REFRESH"]
        let refresh =
            try refreshText.map { text throws(ConfigurationError) in
                try ConfigurationValue.duration(
                    text, setting: self.refresh != nil ? "--refresh" : "POOLTOP_REFRESH", within: SettingLimits.refresh)
            } ?? .seconds(1)
        let loadText = load ?? environment["POOLTOP_LOAD"]
        let load =
            try loadText.map { text throws(ConfigurationError) in
                try ConfigurationValue.int(
                    text, setting: self.load != nil ? "--load" : "POOLTOP_LOAD", within: SettingLimits.load)
            } ?? 0
        let query = loadQuery ?? environment["POOLTOP_LOAD_QUERY"] ?? "SELECT 1"
        if query.trimmingSpaces.isEmpty {
            throw ConfigurationError.invalidValue(setting: "--load-query", value: query, expected: "an SQL statement")
        }
        return Resolved(
            refresh: refresh, theme: theme ?? environment["POOLTOP_THEME"] ?? "default",
            noColor: noColor || !(environment["NO_COLOR"] ?? "").isEmpty, load: load, loadQuery: query)
    }
}
