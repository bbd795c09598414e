import PoolModel

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What every panel reads: the state and the snapshot on screen. `now` is the snapshot's time,
/// never the wall clock, so renders are deterministic.
public struct PanelContext {
    public var state: DashboardState
    public var snapshot: ManagerSnapshot

    public var now: Date { snapshot.takenAt }
    public func clock(_ date: Date) -> String { Format.clock(date, state.timeZone) }
}

/// A keyword with a glyph, so state never depends on color alone.
enum Badge {
    static func health(_ healthy: Bool, _ g: Glyphs, long: Bool = false) -> Span {
        healthy
            ? Span("\(g.check) \(long ? "healthy" : "OK")", Style(.ok, .bold))
            : Span("\(g.cross) \(long ? "UNHEALTHY" : "FAIL")", Style(.critical, .bold))
    }
}
