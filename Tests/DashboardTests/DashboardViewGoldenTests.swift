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

    static let service = AttachedService(
        program: "orders-api", pid: 4242, poolName: "orders", socketPath: "/run/user/1000/pooltop/orders.4242.sock")

    /// Attached to a service: the header names it, its pid and its pool (no "pooltop" title).
    @Test(arguments: [(80, 24), (160, 48)])
    func attached(size: (Int, Int)) {
        var state = Fixtures.state(nil, width: size.0, height: size.1)
        _ = state.update(.sourceReported(.attached(Self.service), .live))
        _ = state.update(.tick(Fixtures.overflow()))
        check("attached-\(size.0)x\(size.1)", state)
        let header = DashboardView.render(state).lines[0]
        #expect(header.contains("orders-api pid 4242 pool orders"))
        #expect(!header.contains("STALE"))
    }

    /// The service stopped answering: its last state stays, marked STALE with its age, "disconnected, retrying".
    @Test(arguments: [(80, 24), (160, 48)])
    func stale(size: (Int, Int)) {
        var state = Fixtures.state(nil, width: size.0, height: size.1)
        _ = state.update(.sourceReported(.attached(Self.service), .live))
        _ = state.update(.tick(Fixtures.overflow()))
        _ = state.update(
            .sourceReported(
                .attached(Self.service),
                .stale(since: Fixtures.t0, reason: "connection refused", checkedAt: Fixtures.at(12))))
        _ = state.update(.tick(Fixtures.overflow()))
        check("stale-\(size.0)x\(size.1)", state)
        let lines = DashboardView.render(state).lines
        #expect(lines[0].contains("STALE 12s"))
        #expect(lines[1].contains("disconnected, retrying: connection refused"))
        // Back by itself: the next live report clears both.
        _ = state.update(.sourceReported(.attached(Self.service), .live))
        let recovered = DashboardView.render(state).lines
        #expect(!recovered[0].contains("STALE") && !recovered[1].contains("disconnected"))
    }

    /// A read-only peer (a member of the service's control group) is told so in the header.
    @Test func readOnly() {
        var state = Fixtures.state(nil)
        var service = Self.service
        service.mayAct = false
        _ = state.update(.sourceReported(.attached(service), .live))
        _ = state.update(.tick(Fixtures.normal()))
        #expect(DashboardView.render(state).lines[0].contains("read-only"))
    }

    /// `pooltop --url`: the Pool panel says the pool is pooltop's own probe pool.
    @Test(arguments: [(80, 24), (160, 48)])
    func probe(size: (Int, Int)) {
        var state = Fixtures.state(nil, width: size.0, height: size.1)
        _ = state.update(.sourceReported(.embeddedProbe, .live))
        _ = state.update(.tick(Fixtures.normal()))
        check("probe-\(size.0)x\(size.1)", state)
        #expect(DashboardView.render(state).lines.joined().contains("pooltop's own probe"))
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
