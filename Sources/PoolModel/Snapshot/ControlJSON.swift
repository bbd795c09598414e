#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The JSON dialect shared by the status JSON, the control endpoint and its readers: sorted snake_case keys,
/// ISO 8601 timestamps with fractional seconds (UTC, e.g. `2026-12-01T21:45:41.123Z`), no escaped slashes.
public enum ControlJSON {
    /// An encoder for the dialect; `pretty` adds indentation for people.
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(format(date))
        }
        return encoder
    }

    /// A decoder for the dialect; accepts timestamps with or without fractional seconds.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = parse(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "Expected an ISO 8601 timestamp, got '\(text.prefix(40))'.")
            }
            return date
        }
        return decoder
    }

    /// `2026-12-01T21:45:41.123Z`.
    public static func format(_ date: Date) -> String {
        date.formatted(
            .iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    /// Parses what ``format(_:)`` writes, and the same without fractional seconds.
    public static func parse(_ text: String) -> Date? {
        if let date = parseUTC(text) { return date }
        if let date = try? fractionalStyle.parse(text) { return date }
        return try? wholeSecondsStyle.parse(text)
    }

    private static let fractionalStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let wholeSecondsStyle = Date.ISO8601FormatStyle()

    /// The fast path for the dialect's own form, `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (a poll carries hundreds of
    /// timestamps: the health history): digits read directly, days from the civil date (Howard Hinnant's
    /// `days_from_civil`). Anything else (other offsets, out-of-range fields) is left to the format style.
    static func parseUTC(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { bytes -> Date? in
            guard bytes.count >= 20, bytes[bytes.count - 1] == UInt8(ascii: "Z"), bytes[4] == UInt8(ascii: "-"),
                bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"),
                bytes[16] == UInt8(ascii: ":")
            else { return nil }
            func number(_ start: Int, _ count: Int) -> Int? {
                var value = 0
                for index in start..<start + count {
                    let digit = Int(bytes[index]) - 48
                    guard (0...9).contains(digit) else { return nil }
                    value = value * 10 + digit
                }
                return value
            }
            guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
                let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
                (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
            else { return nil }
            var fraction = 0.0
            if bytes.count > 20 {
                guard bytes[19] == UInt8(ascii: "."), bytes.count > 21, bytes.count <= 30,
                    let digits = number(20, bytes.count - 21)
                else { return nil }
                var scale = 1.0
                for _ in 0..<(bytes.count - 21) { scale *= 10 }
                fraction = Double(digits) / scale
            } else if bytes.count != 20 {
                return nil
            }
            let shifted = month <= 2 ? year - 1 : year
            let era = (shifted >= 0 ? shifted : shifted - 399) / 400
            let yearOfEra = shifted - era * 400
            let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
            let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
            let days = era * 146_097 + dayOfEra - 719_468
            let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second
            return Date(timeIntervalSinceReferenceDate: Double(seconds - 978_307_200) + fraction)
        }
    }
}
