#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The zone the screen's clock times are in: the machine's local time (the C library's `localtime_r`, which reads
/// `TZ` and `/etc/localtime` with their daylight saving rules), or a fixed offset (the tests: UTC).
///
/// Not `TimeZone.current`: without FoundationInternationalization (ICU), which the attached dashboard does not
/// load, `TimeZone` knows only GMT and fixed offsets.
public struct ClockZone: Sendable, Equatable {
    private let fixedOffset: Int?

    /// The machine's local time, daylight saving included.
    public static let local = ClockZone(fixedOffset: nil)
    /// Coordinated Universal Time.
    public static let utc = ClockZone(fixedOffset: 0)

    /// A zone `secondsFromGMT` east of UTC, all year.
    public init(secondsFromGMT: Int) {
        self.init(fixedOffset: secondsFromGMT)
    }

    private init(fixedOffset: Int?) {
        self.fixedOffset = fixedOffset
    }

    /// The offset from UTC in seconds at `date`.
    public func secondsFromGMT(for date: Date) -> Int {
        if let fixedOffset { return fixedOffset }
        var time = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        guard localtime_r(&time, &parts) != nil else { return 0 }
        return Int(parts.tm_gmtoff)
    }
}
