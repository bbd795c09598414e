import ConnectionManager
import Foundation
import Testing

@testable import Dashboard

/// The header and the hints say only what is known (issue 10, "the screen tells the truth").
@Suite("Header and hints tell the truth")
struct HeaderTruthTests {
    func snapshot(role: TargetRole, health: HealthVerdict) -> ManagerSnapshot {
        var s = Fixtures.normal()
        s.failover.isPrimary = role == .primary
        s.failover.targets[0].role = role
        s.health = health
        return s
    }

    /// Regression: the header said `standby` for a dead primary (it read `isPrimary ? "primary" : "standby"`).
    @Test func neverStandbyForADeadOrUncheckedTarget() {
        #expect(HeaderPanel.role(snapshot(role: .unreachable, health: .init(state: .failing))) == "unreachable")
        #expect(HeaderPanel.role(snapshot(role: .unknown, health: .init(state: .checking))) == "checking…")
        #expect(HeaderPanel.role(snapshot(role: .unknown, health: .init(state: .unknown))) == "role unknown")
        #expect(HeaderPanel.role(snapshot(role: .standby, health: .init(state: .healthy))) == "standby")
        #expect(HeaderPanel.role(snapshot(role: .primary, health: .init(state: .healthy))) == "primary")
    }

    /// Regression: "✓ healthy" before the first check and with a frozen timestamp.
    @Test func healthyOnlyForARecentPassingCheck() {
        let g = Glyphs.unicode
        #expect(
            HeaderPanel.health(snapshot(role: .unknown, health: .init(state: .checking)), glyphs: g).text
                == " … checking ")
        #expect(
            HeaderPanel.health(snapshot(role: .primary, health: .init(state: .stale)), glyphs: g).text
                == " ? check stale ")
        #expect(
            HeaderPanel.health(snapshot(role: .primary, health: .init(state: .healthy)), glyphs: g).text.contains(
                "healthy"))
        let stale = Hints.compute(snapshot(role: .primary, health: .init(state: .stale, detail: "old")), highSince: nil)
        #expect(stale.first?.severity == .critical)
    }

    /// Regression: a checkout that timed out while suspended said "saturated, raise pool_size", and hints driven by
    /// lifetime totals never cleared.
    @Test func hintsUseTheLastMinute() {
        var s = Fixtures.normal()
        s.metrics.timeouts = 40
        s.metrics.connectFailures = 12
        #expect(
            !Hints.compute(s, highSince: nil).contains { $0.text.contains("timed out") || $0.text.contains("connects") }
        )
        s.recent = RecentActivity(window: 60, connectFailures: 3, timeouts: 2, timeoutsWhileSuspended: 2)
        s.metrics.isSuspended = true
        let texts = Hints.compute(s, highSince: nil).map(\.text)
        #expect(texts.contains { $0.contains("suspended: press s to resume") }, "\(texts)")
        #expect(!texts.contains { $0.contains("saturated") }, "\(texts)")
        #expect(texts.contains { $0.contains("3 connects failed in the last minute") }, "\(texts)")
    }

    @Test func theCauseComesFirst() {
        #expect(
            Format.causeFirst("connection to server at \"db\" (10.0.0.5), port 5432 failed: Connection refused")
                == "Connection refused — connection to server at \"db\" (10.0.0.5), port 5432")
        #expect(Format.causeFirst("database \"x\" does not exist") == "database \"x\" does not exist")
    }

    /// Issue 10: the connect breaker's state is visible (open / half-open, next attempt in N s).
    @Test func theConnectBreakerIsVisible() {
        var s = Fixtures.normal()
        #expect(!Hints.compute(s, highSince: nil).contains { $0.text.contains("breaker") })
        s.metrics.connectBreaker = ConnectBreakerStatus(
            state: .open, failures: 7, retryAt: s.takenAt.addingTimeInterval(4))
        let open = Hints.compute(s, highSince: nil).map(\.text)
        #expect(
            open.contains {
                $0.contains("breaker open") && $0.contains("7 connects failed in a row") && $0.contains("4s")
            }, "\(open)")
        s.metrics.connectBreaker = ConnectBreakerStatus(state: .halfOpen, failures: 8)
        #expect(Hints.compute(s, highSince: nil).contains { $0.text.contains("half-open") })
    }
}
