import Foundation
import Testing

@testable import ConnectionManager

@Suite("PostgresDate")
struct PostgresDateTests {
    private func parse(_ text: String) -> Date? {
        text.withCString { PostgresDate.parse($0, length: text.utf8.count) }
    }

    @Test(arguments: [
        ("1970-01-01", 0.0),
        ("2024-02-29", 1_709_164_800.0),
        ("2024-02-29 12:34:56", 1_709_210_096.0),
        ("2024-02-29T12:34:56Z", 1_709_210_096.0),
        ("2024-02-29 12:34:56.5+00", 1_709_210_096.5),
        ("2024-02-29 14:34:56+02", 1_709_210_096.0),
        ("2024-02-29 07:04:56-05:30", 1_709_210_096.0),
        ("1969-12-31 23:59:59.25+00", -0.75),
        ("1900-03-01", -2_203_891_200.0),
    ])
    func parsesISO(_ text: String, _ seconds: Double) {
        #expect(parse(text)?.timeIntervalSince1970 == seconds)
    }

    @Test(arguments: ["", "2024-2-29", "29.02.2024", "2024-02-29 12:34", "2024-02-29 BC", "2024-13-01", "tomorrow"])
    func rejectsOtherText(_ text: String) {
        #expect(parse(text) == nil)
    }

    @Test func infinity() {
        #expect(parse("infinity") == .distantFuture)
        #expect(parse("-infinity") == .distantPast)
    }

    @Test(arguments: [0.0, 1_709_210_096.123456, -0.75, -2_203_891_200.0, 4_102_444_800.5])
    func formatRoundTrips(_ seconds: Double) {
        let text = PostgresDate.format(Date(timeIntervalSince1970: seconds))
        #expect(text.hasSuffix("Z"))
        let back = parse(text)?.timeIntervalSince1970 ?? .nan
        #expect(abs(back - seconds) < 0.000_001)
    }

    @Test func formatsUTC() {
        #expect(PostgresDate.format(Date(timeIntervalSince1970: 1_709_210_096.5)) == "2024-02-29T12:34:56.500000Z")
    }
}
