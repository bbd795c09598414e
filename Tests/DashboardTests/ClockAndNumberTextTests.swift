import Foundation
import Testing

@testable import Dashboard
@testable import PoolModel

#if canImport(Glibc)
    import Glibc
#endif

/// Replacements for Foundation in the attached dashboard: `%.Nf` text and local clock times.
@Suite("Clock and number text without Foundation")
struct ClockAndNumberTextTests {
    @Test(arguments: [
        (0.15, 1, "0.1"), (0.25, 1, "0.2"), (2.675, 2, "2.67"), (1234.5, 0, "1234"), (-0.04, 1, "-0.0"),
        (3.0, 1, "3.0"), (1e20, 1, "100000000000000000000.0"), (0.5, 3, "0.500"),
    ])
    func fixedPointIsPrintf(value: Double, decimals: Int, expected: String) {
        #expect(FixedPoint.format(value, decimals: decimals) == expected)
    }

    @Test func fixedZonesAreTheirOffset() {
        let date = Date(timeIntervalSince1970: 86_400 + 3_600 * 5 + 61)
        #expect(Format.clock(date, .utc) == "05:01:01")
        #expect(Format.clock(date, ClockZone(secondsFromGMT: 3_600 * 2)) == "07:01:01")
        #expect(Format.clock(date, ClockZone(secondsFromGMT: -3_600 * 6)) == "23:01:01")
    }

    @Test func localZoneIsTheCLibrarysOffsetAtThatDate() {
        let date = Date(timeIntervalSince1970: 1_780_000_000)
        var time = time_t(1_780_000_000)
        var parts = tm()
        _ = localtime_r(&time, &parts)
        #expect(ClockZone.local.secondsFromGMT(for: date) == Int(parts.tm_gmtoff))
        #expect(Format.clock(date, .local) == Format.clock(date, ClockZone(secondsFromGMT: Int(parts.tm_gmtoff))))
    }
}
