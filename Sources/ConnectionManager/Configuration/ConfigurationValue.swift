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

    /// `true/false`, `1/0`, `yes/no`, `on/off` (any case).
    public static func bool(_ text: String, setting: String) throws(ConfigurationError) -> Bool {
        switch text.trimmingSpaces.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            throw .invalidValue(setting: setting, value: text, expected: "true or false (also 1/0, yes/no, on/off)")
        }
    }

    /// Seconds (`30`, `0.25`) or a number with a unit: `ms`, `s`, `m`, `h` (`250ms`, `2s`, `5m`).
    /// `allowZero` accepts 0; negative values are always refused.
    public static func duration(_ text: String, setting: String, allowZero: Bool = false) throws(ConfigurationError)
        -> Duration
    {
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
            allowZero
            ? "a duration of at least 0: seconds like 30 or 0.5, or with a unit like 250ms, 2s, 5m"
            : "a duration greater than 0: seconds like 30 or 0.5, or with a unit like 250ms, 2s, 5m"
        guard let value = Double(number.trimmingSpaces), value.isFinite, value >= 0, allowZero || value > 0 else {
            throw .invalidValue(setting: setting, value: text, expected: expected)
        }
        return .nanoseconds(Int64((value * scale * 1e9).rounded()))
    }

    /// Like ``duration(_:setting:allowZero:)`` but `off`, `none`, `never` or `-1` mean "disabled" (`nil`).
    public static func optionalDuration(_ text: String, setting: String) throws(ConfigurationError) -> Duration? {
        switch text.trimmingSpaces.lowercased() {
        case "off", "none", "never", "-1", "": return nil
        default: return try duration(text, setting: setting)
        }
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

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
