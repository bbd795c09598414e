import ConnectionManager
import Foundation
import Testing

@testable import Dashboard

@Suite("Header and footer bars")
struct BarTests {
    static let sizes = [(80, 24), (160, 48)]

    static func snapshots() -> [(String, ManagerSnapshot)] {
        [
            ("normal", Fixtures.normal()), ("overflow", Fixtures.overflow()), ("unhealthy", Fixtures.unhealthy()),
            ("blocked", Fixtures.blocked()),
        ]
    }

    /// Issue 10: every cell of the header and footer rows carries the bar's background — the bar's own
    /// role, or a badge in reverse video that paints its own (STALE, UNHEALTHY, BLOCKED, healthy).
    @Test func headerAndFooterRowsHaveNoBackgroundHoles() {
        for (name, snap) in Self.snapshots() {
            for (w, h) in Self.sizes {
                let buffer = DashboardView.render(Fixtures.state(snap, width: w, height: h))
                for y in [0, h - 1] {
                    for x in 0..<w {
                        let style = buffer[x, y].style
                        #expect(
                            style.role == .header || style.emphasis.contains(.reverse),
                            "\(name) \(w)×\(h) row \(y) column \(x): \(style)")
                    }
                }
            }
        }
        let waiting = DashboardView.render(Fixtures.state(nil))
        #expect((0..<80).allSatisfy { waiting[$0, 0].style.role == .header })
    }
}
