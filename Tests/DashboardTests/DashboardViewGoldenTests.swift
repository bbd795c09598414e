import ConnectionManager
import Foundation
import Testing

@testable import Dashboard

@Suite("Golden screens")
struct DashboardViewGoldenTests {
    func check(_ name: String, _ state: DashboardState, glyphs: Glyphs = .unicode) {
        let buffer = DashboardView.render(state, glyphs: glyphs)
        #expect(buffer.width == state.width && buffer.height == state.height)
        let (ok, diff) = matchesGolden(name, buffer)
        #expect(ok, "\(name) differs from its golden file\n\(diff)")
    }

    @Test(arguments: [(80, 24), (160, 48)])
    func normal(size: (Int, Int)) {
        check("normal-\(size.0)x\(size.1)", Fixtures.state(Fixtures.normal(), width: size.0, height: size.1))
    }

    @Test(arguments: [(80, 24), (160, 48)])
    func overflow(size: (Int, Int)) {
        var state = Fixtures.state(nil, width: size.0, height: size.1)
        // Two ticks 40 s apart so "above 80 % for a while" is established.
        var early = Fixtures.overflow()
        early.takenAt = Fixtures.at(-40)
        _ = state.update(.tick(early))
        _ = state.update(.tick(Fixtures.overflow()))
        check("overflow-\(size.0)x\(size.1)", state)
    }

    @Test(arguments: [(80, 24), (160, 48)])
    func unhealthy(size: (Int, Int)) {
        check("unhealthy-\(size.0)x\(size.1)", Fixtures.state(Fixtures.unhealthy(), width: size.0, height: size.1))
    }

    @Test(arguments: [(80, 24), (160, 48)])
    func leakDetail(size: (Int, Int)) {
        var state = Fixtures.state(Fixtures.overflow(), width: size.0, height: size.1)
        #expect(state.update(.keyPressed(.enter)) == [.loadStack(connectionID: 17)])
        _ = state.update(.stackLoaded(connectionID: 17, frames: Fixtures.stack()))
        check("leak-detail-\(size.0)x\(size.1)", state)
    }

    @Test func leakDetailScrolled() {
        var state = Fixtures.state(Fixtures.overflow())
        _ = state.update(.keyPressed(.enter))
        _ = state.update(.stackLoaded(connectionID: 17, frames: Fixtures.stack()))
        _ = state.update(.keyPressed(.pageDown))
        check("leak-detail-scrolled-80x24", state)
    }

    @Test(arguments: [(80, 24), (160, 48)])
    func failoverPicker(size: (Int, Int)) {
        var state = Fixtures.state(Fixtures.normal(), width: size.0, height: size.1)
        _ = state.update(.keyPressed(.character("f")))
        check("failover-picker-\(size.0)x\(size.1)", state)
    }

    @Test func failoverConfirmAndRefusal() {
        var state = Fixtures.state(Fixtures.unhealthy())
        _ = state.update(.keyPressed(.character("f")))
        _ = state.update(.keyPressed(.enter))
        check("failover-confirm-80x24", state)
        #expect(state.update(.keyPressed(.character("y"))) == [.perform(.failover(toTarget: 1))])
        _ = state.update(
            .commandCompleted(
                .failover(toTarget: 1),
                MonitorCommandOutcome(
                    succeeded: false,
                    message: "Refused: db2.internal:5432/orders is a standby (pg_is_in_recovery = t); promote it first."
                )))
        check("failover-refused-80x24", state)
    }

    @Test(arguments: [(80, 24), (160, 48)])
    func help(size: (Int, Int)) {
        var state = Fixtures.state(Fixtures.normal(), width: size.0, height: size.1)
        _ = state.update(.keyPressed(.character("?")))
        check("help-\(size.0)x\(size.1)", state)
    }

    @Test func tooSmall() {
        check("too-small-60x20", Fixtures.state(Fixtures.normal(), width: 60, height: 20))
    }

    @Test func asciiFallback() {
        check("overflow-ascii-80x24", Fixtures.state(Fixtures.overflow()), glyphs: .ascii)
    }

    @Test func pausedMarker() {
        var state = Fixtures.state(Fixtures.normal())
        _ = state.update(.keyPressed(.character("p")))
        let header = DashboardView.render(state).lines[0]
        #expect(header.contains("PAUSED"))
    }

    @Test func waitingForFirstSnapshot() {
        let lines = DashboardView.render(Fixtures.state(nil)).lines
        #expect(lines[0].contains("waiting for the first snapshot"))
        #expect(lines[23].contains("q quit"))
    }
}
