import Foundation
import Testing

@testable import PoolModel

/// The fast timestamp reader gives exactly what the ISO 8601 format style gives, and round-trips the writer.
@Suite("ControlJSON timestamps")
struct ControlJSONDateTests {
    @Test func fastPathEqualsTheFormatStyle() throws {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        var generator = SystemRandomNumberGenerator()
        var texts = [
            "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z", "2000-02-29T23:59:59.999Z", "2024-05-01T12:00:00.250Z",
            "1969-12-31T23:59:59.5Z", "2100-03-01T00:00:00.1Z", "1600-03-01T00:00:00Z", "2026-12-01T21:45:41.123456Z",
        ]
        for _ in 0..<2_000 {
            let date = Date(timeIntervalSince1970: Double.random(in: -2e9...5e9, using: &generator))
            texts.append(ControlJSON.format(date))
        }
        for text in texts {
            let fast = try #require(ControlJSON.parseUTC(text), "\(text)")
            let slow = try #require(try? style.parse(text), "\(text)")
            #expect(
                fast == slow,
                "\(text): \(fast.timeIntervalSinceReferenceDate) vs \(slow.timeIntervalSinceReferenceDate)")
            #expect(ControlJSON.format(fast) == ControlJSON.format(slow), "\(text)")
        }
    }

    @Test(arguments: [
        "2024-13-01T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T12:00:00+02:00", "2024-05-01 12:00:00Z",
        "2024-05-01T12:00:00.Z", "2024-05-01T12:0a:00Z", "yesterday", "",
    ])
    func otherFormsAreLeftToTheFormatStyle(text: String) {
        #expect(ControlJSON.parseUTC(text) == nil)
    }

    @Test func offsetsStillParse() {
        #expect(ControlJSON.parse("2024-05-01T14:00:00+02:00") == Date(timeIntervalSince1970: 1_714_564_800))
    }
}
