#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `%.Nf` text of a number, as `String(format:)` writes it (C `printf` rounding of the binary value), without
/// Foundation: the attached dashboard maps only FoundationEssentials, which has no `String(format:)`.
///
/// Always a `.` decimal point: the C locale is used for this call even after the dashboard set `LC_ALL` from the
/// environment (curses needs the locale's `LC_CTYPE`; a `de_DE` `LC_NUMERIC` would otherwise print a comma).
package enum FixedPoint {
    /// `value` with `decimals` (0–17) digits after the point, e.g. `format(2.25, decimals: 1)` = `2.2`.
    package static func format(_ value: Double, decimals: Int) -> String {
        let digits = Int32(min(max(decimals, 0), 17))
        var buffer = [CChar](repeating: 0, count: 352)  // DBL_MAX in %f is 309 digits + sign, point and decimals.
        let previous = uselocale(cLocale)
        let count = withVaList([digits, value]) { arguments in
            vsnprintf(&buffer, buffer.count, "%.*f", arguments)
        }
        uselocale(previous)
        guard count >= 0 else { return "\(value)" }
        let length = min(Int(count), buffer.count - 1)
        return buffer.withUnsafeBufferPointer { pointer in
            String(decoding: UnsafeRawBufferPointer(start: pointer.baseAddress, count: length), as: UTF8.self)
        }
    }

    /// The C locale, made once (`newlocale` objects may be shared by threads; `uselocale` is per thread).
    // Safety: written once by the lazy global initializer, only read afterwards; locale_t is an opaque pointer.
    #if canImport(Glibc)
        nonisolated(unsafe) private static let cLocale: locale_t = newlocale(1 << LC_NUMERIC, "C", nil)
    #else
        nonisolated(unsafe) private static let cLocale: locale_t = newlocale(LC_NUMERIC_MASK, "C", nil)
    #endif
}
