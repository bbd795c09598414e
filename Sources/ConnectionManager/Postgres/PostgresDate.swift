#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Converts between `Date` and PostgreSQL's ISO text for `date`, `timestamp` and `timestamptz`, without formatters.
enum PostgresDate {
    /// `2024-05-06T07:08:09.123456Z`: ISO 8601 in UTC with microseconds, which every date/time type accepts.
    static func format(_ date: Date) -> String {
        let totalMicroseconds = (date.timeIntervalSince1970 * 1_000_000).rounded()
        guard totalMicroseconds.isFinite, abs(totalMicroseconds) < 9e18 else {
            return totalMicroseconds > 0 ? "infinity" : "-infinity"
        }
        let micros = Int64(totalMicroseconds)
        let (days, microsOfDay) = floorDivide(micros, 86_400_000_000)
        let (year, month, day) = civil(fromDays: days)
        let secondsOfDay = microsOfDay / 1_000_000
        let fraction = microsOfDay % 1_000_000
        var text = year < 0 ? "-" : ""
        text += padded(abs(year), 4) + "-" + padded(month, 2) + "-" + padded(day, 2)
        text += "T" + padded(secondsOfDay / 3600, 2) + ":" + padded(secondsOfDay / 60 % 60, 2) + ":"
        text += padded(secondsOfDay % 60, 2) + "." + padded(fraction, 6) + "Z"
        return text
    }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS[.ffffff]` (taken as UTC) and the same with a `+HH[:MM[:SS]]`
    /// offset, as printed with `DateStyle = ISO`; `infinity` / `-infinity` become `distantFuture` / `distantPast`.
    /// Returns nil for anything else (BC dates, other DateStyles).
    static func parse(_ text: UnsafePointer<CChar>, length: Int) -> Date? {
        var scanner = Scanner(base: UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), end: length)
        if scanner.matches("infinity") { return .distantFuture }
        if scanner.matches("-infinity") { return .distantPast }
        guard let year = scanner.number(minDigits: 4, maxDigits: 7), scanner.skip("-"),
            let month = scanner.number(minDigits: 2, maxDigits: 2), scanner.skip("-"),
            let day = scanner.number(minDigits: 2, maxDigits: 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var seconds = Double(days(fromYear: year, month: month, day: day)) * 86_400
        if scanner.skip(" ") || scanner.skip("T") {
            guard let hour = scanner.number(minDigits: 2, maxDigits: 2), scanner.skip(":"),
                let minute = scanner.number(minDigits: 2, maxDigits: 2), scanner.skip(":"),
                let second = scanner.number(minDigits: 2, maxDigits: 2), hour <= 24, minute < 60, second <= 60
            else { return nil }
            seconds += Double(hour * 3600 + minute * 60 + second)
            if scanner.skip(".") {
                var scale = 0.1
                var fraction = 0.0
                var digits = 0
                while let digit = scanner.digit() {
                    fraction += Double(digit) * scale
                    scale /= 10
                    digits += 1
                }
                guard digits > 0 else { return nil }
                seconds += fraction
            }
            if scanner.skip("Z") {
                // UTC already.
            } else if let sign = scanner.sign() {
                guard let hours = scanner.number(minDigits: 2, maxDigits: 2) else { return nil }
                var offset = hours * 3600
                if scanner.skip(":") {
                    guard let minutes = scanner.number(minDigits: 2, maxDigits: 2) else { return nil }
                    offset += minutes * 60
                    if scanner.skip(":") {
                        guard let secs = scanner.number(minDigits: 2, maxDigits: 2) else { return nil }
                        offset += secs
                    }
                }
                seconds -= Double(sign * offset)
            }
        }
        guard scanner.isAtEnd else { return nil }
        return Date(timeIntervalSince1970: seconds)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func days(fromYear year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (`civil_from_days`).
    static func civil(fromDays count: Int64) -> (year: Int, month: Int, day: Int) {
        let z = Int(count) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let quotient = value / divisor
        let remainder = value % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }

    private static func padded<T: BinaryInteger>(_ value: T, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// A cursor over the bytes of a NUL-free C string.
    private struct Scanner {
        let base: UnsafePointer<UInt8>
        let end: Int
        var index = 0

        var isAtEnd: Bool { index == end }

        mutating func skip(_ character: Unicode.Scalar) -> Bool {
            guard index < end, base[index] == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        /// Whether the whole remaining text is `word`.
        func matches(_ word: StaticString) -> Bool {
            guard word.utf8CodeUnitCount == end - index else { return false }
            return memcmp(base + index, word.utf8Start, end - index) == 0
        }

        mutating func digit() -> Int? {
            guard index < end, base[index] >= UInt8(ascii: "0"), base[index] <= UInt8(ascii: "9") else { return nil }
            defer { index += 1 }
            return Int(base[index] - UInt8(ascii: "0"))
        }

        mutating func number(minDigits: Int, maxDigits: Int) -> Int? {
            var value = 0
            var count = 0
            while count < maxDigits, let digit = digit() {
                value = value * 10 + digit
                count += 1
            }
            return count >= minDigits ? value : nil
        }

        mutating func sign() -> Int? {
            if skip("+") { return 1 }
            if skip("-") { return -1 }
            return nil
        }
    }
}
