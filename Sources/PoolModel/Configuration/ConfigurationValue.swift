/// Parsers for setting values given as text (environment variables, command-line flags).
/// Each names the setting and the expected form when the text is not usable.
public enum ConfigurationValue {
    /// A whole number ≥ `minimum`.
    public static func int(_ text: String, setting: String, minimum: Int) throws(ConfigurationError) -> Int {
        guard let value = Int(text.trimmingSpaces), value >= minimum else {
            throw .invalidValue(setting: setting, value: text, expected: "a whole number of at least \(minimum)")
        }
        return value
    }

    /// A whole number within `range` (see ``SettingLimits``).
    public static func int(_ text: String, setting: String, within range: ClosedRange<Int>) throws(ConfigurationError)
        -> Int
    {
        guard let value = Int(text.trimmingSpaces), range.contains(value) else {
            throw .invalidValue(
                setting: setting, value: text,
                expected: "a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// `true/false`, `1/0`, `yes/no`, `on/off` (any case).
    public static func bool(_ text: String, setting: String) throws(ConfigurationError) -> Bool {
        switch text.trimmingSpaces.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            throw .invalidValue(setting: setting, value: text, expected: "true or false (also 1/0, yes/no, on/off)")
        }
    }

    /// Seconds (`30`, `0.25`) or a number with a unit: `ms`, `s`, `m`, `h` (`250ms`, `2s`, `5m`), within
    /// `range` (see ``SettingLimits``); `allowZero` accepts 0 as well. Anything else — NaN, infinities, negative
    /// values, values that round to less than the range's lower bound (`1e-12s`), values past its upper bound —
    /// is refused naming the setting and the value as typed.
    public static func duration(
        _ text: String, setting: String, within range: ClosedRange<Duration>, allowZero: Bool = false
    ) throws(ConfigurationError) -> Duration {
        let t = text.trimmingSpaces.lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = Substring(t)
        var scale = 1.0
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            number = t.dropLast(suffix.count)
            scale = factor
            break
        }
        let expected =
            (allowZero ? "0 or " : "")
            + "a duration from \(describe(range.lowerBound)) to \(describe(range.upperBound)): "
            + "seconds like 30 or 0.5, or with a unit like 250ms, 2s, 5m"
        // Only ASCII digits, sign, point and exponent: Double() would take "nan", "inf" and hex floats too.
        let numeral = number.trimmingSpaces
        guard !numeral.isEmpty, numeral.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.e".contains($0)) }),
            let value = Double(numeral), value.isFinite
        else {
            throw .invalidValue(setting: setting, value: text, expected: expected)
        }
        let seconds = value * scale
        if allowZero && seconds == 0 { return .zero }
        // Compared as seconds before any conversion: a value past Int64 nanoseconds must not reach `Int64(...)`.
        guard seconds >= range.lowerBound.seconds, seconds <= range.upperBound.seconds else {
            throw .invalidValue(setting: setting, value: text, expected: expected)
        }
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// Like ``duration(_:setting:within:allowZero:)`` but `off`, `none`, `never` or `-1` mean "disabled" (`nil`).
    public static func optionalDuration(_ text: String, setting: String, within range: ClosedRange<Duration>)
        throws(ConfigurationError) -> Duration?
    {
        switch text.trimmingSpaces.lowercased() {
        case "off", "none", "never", "-1", "": return nil
        default: return try duration(text, setting: setting, within: range)
        }
    }

    /// Seconds or a number with a unit, greater than 0 (or at least 0 with `allowZero`), at most a year.
    public static func duration(_ text: String, setting: String, allowZero: Bool = false) throws(ConfigurationError)
        -> Duration
    {
        try duration(text, setting: setting, within: SettingLimits.anyDuration, allowZero: allowZero)
    }

    /// Like ``duration(_:setting:allowZero:)`` but `off`, `none`, `never` or `-1` mean "disabled" (`nil`).
    public static func optionalDuration(_ text: String, setting: String) throws(ConfigurationError) -> Duration? {
        try optionalDuration(text, setting: setting, within: SettingLimits.anyDuration)
    }

    /// "1 ms", "50 ms", "2 s", "5 min", "1 h", "1 day", "1 year": a bound for people.
    package static func describe(_ d: Duration) -> String {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        let units: [(Int64, String)] = [
            (365 * 86_400_000, "year"), (86_400_000, "day"), (3_600_000, "h"), (60_000, "min"), (1000, "s"),
        ]
        for (size, name) in units where ms >= size && ms % size == 0 {
            let count = ms / size
            return name.count > 3 || name == "day" ? "\(count) \(name)\(count == 1 ? "" : "s")" : "\(count) \(name)"
        }
        return "\(ms) ms"
    }

    /// `off`, `always`, or `sample:N` (one checkout in N).
    public static func stackCapture(_ text: String, setting: String) throws(ConfigurationError)
        -> StackCaptureMode
    {
        let t = text.trimmingSpaces.lowercased()
        switch t {
        case "off", "false", "0", "no": return .off
        case "always", "on", "true", "1", "yes": return .always
        default:
            if t.hasPrefix("sample:"), let n = Int(t.dropFirst("sample:".count)), n >= 1 {
                return .sampled(every: n)
            }
            throw .invalidValue(setting: setting, value: text, expected: "off, always or sample:N with N ≥ 1")
        }
    }
}

extension Duration {
    /// The duration in seconds, for comparisons against bounds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension StringProtocol {
    package var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
