import PoolModel

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Short, fixed-width-friendly renderings of numbers, durations and times.
public enum Format {
    /// `42s`, `5m12s`, `2h03m`, `3d04h`.
    public static func age(_ seconds: Double) -> String {
        let s = max(0, Int(seconds))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(two(s % 60))s" }
        if s < 86400 { return "\(s / 3600)h\(two(s % 3600 / 60))m" }
        return "\(s / 86400)d\(two(s % 86400 / 3600))h"
    }

    /// A response time: `850µs`, `1.2ms`, `120ms`, `1.50s`.
    public static func latency(_ seconds: Double) -> String {
        if seconds < 0.001 { return "\(Int((seconds * 1_000_000).rounded()))µs" }
        if seconds < 0.01 { return oneDecimal(seconds * 1000) + "ms" }
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        return twoDecimals(seconds) + "s"
    }

    /// A refresh interval: `0.25s`, `1s`.
    public static func interval(_ d: Duration) -> String {
        let (s, atto) = d.components
        if atto == 0 { return "\(s)s" }
        let v = Double(s) + Double(atto) / 1e18
        var t = twoDecimals(v)
        while t.hasSuffix("0") { t.removeLast() }
        return t + "s"
    }

    /// `87%`.
    public static func percent(_ ratio: Double) -> String { "\(Int((ratio * 100).rounded()))%" }

    /// `HH:mm:ss` in the given time zone (no Calendar: this runs for every event on every frame).
    public static func clock(_ date: Date, _ zone: ClockZone) -> String {
        let t = Int(date.timeIntervalSince1970.rounded(.down)) + zone.secondsFromGMT(for: date)
        let day = ((t % 86400) + 86400) % 86400
        return "\(two(day / 3600)):\(two(day % 3600 / 60)):\(two(day % 60))"
    }

    static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    static func oneDecimal(_ v: Double) -> String {
        let tenths = Int((v * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func twoDecimals(_ v: Double) -> String {
        let h = Int((v * 100).rounded())
        return "\(h / 100).\(two(h % 100))"
    }

    /// The host:port/db part of a masked URL (what people recognise), or the URL itself.
    public static func shortTarget(_ url: String) -> String {
        var s = Substring(url)
        if let r = s.firstRange(of: "://") { s = s[r.upperBound...] }
        if let at = s.lastIndex(of: "@") { s = s[s.index(after: at)...] }
        if let q = s.firstIndex(of: "?") { s = s[..<q] }
        return s.isEmpty ? url : String(s)
    }

    /// One line of SQL: whitespace runs collapsed.
    /// An error with its cause first: libpq's `connection to server at "h" (ip), port 5432 failed: Connection
    /// refused` becomes `Connection refused — connection to server at "h" (ip), port 5432`, so a cut line still
    /// says what is wrong. Other texts are only put on one line.
    public static func causeFirst(_ error: String) -> String {
        let text = oneLine(error)
        guard let marker = text.firstRange(of: " failed: "), text.hasPrefix("connection to server") else { return text }
        let cause = text[marker.upperBound...].trimmingSpaces
        guard !cause.isEmpty else { return text }
        return "\(cause.prefix(1).uppercased())\(cause.dropFirst()) — \(text[..<marker.lowerBound])"
    }

    public static func oneLine(_ sql: String) -> String {
        if isOneLine(sql) { return sql }
        return sql.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// Printable ASCII with single inner spaces is already one line. Checked on UTF-8 bytes, because
    /// `Character.isWhitespace` (a Unicode property lookup per character) was the most expensive part of a frame.
    static func isOneLine(_ text: String) -> Bool {
        var afterSpace = true  // a leading space needs the slow path too
        for byte in text.utf8 {
            guard byte >= 0x20, byte < 0x7F else { return false }
            if byte == 0x20 {
                if afterSpace { return false }
                afterSpace = true
            } else {
                afterSpace = false
            }
        }
        return !afterSpace
    }
}
