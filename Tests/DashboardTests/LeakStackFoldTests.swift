import ConnectionManager
import Foundation
import Testing

@testable import Dashboard

@Suite("Leak stack starts at the caller")
struct LeakStackFoldTests {
    static func opened(width: Int = 80, height: Int = 24) -> DashboardState {
        var state = Fixtures.state(Fixtures.overflow(), width: width, height: height)
        _ = state.update(.keyPressed(.enter))
        _ = state.update(.stackLoaded(connectionID: 17, frames: Fixtures.stack()))
        return state
    }

    /// The screen's stack rows (below the "Checkout stack" heading) and the heading itself.
    static func stack(_ state: DashboardState) -> (heading: String, rows: [String]) {
        let lines = DashboardView.render(state).lines
        let h = lines.firstIndex { $0.contains("Checkout stack") }!
        return (lines[h], Array(lines[(h + 1)...].prefix { !$0.contains("└") }))
    }

    /// Issue 10: the library's frames (ConnectionManager) are folded into one line; the first frame is the caller.
    @Test(arguments: [(80, 24), (160, 48)])
    func foldedLibraryFramesThenTheCaller(size: (Int, Int)) {
        let (heading, rows) = Self.stack(Self.opened(width: size.0, height: size.1))
        #expect(rows[0].contains("… 2 library frames (press l to show)"), "\(rows[0])")
        #expect(rows[1].contains("   2  OrdersService.OrderRepository."), "\(rows[1])")
        #expect(!rows.contains { $0.contains("ConnectionPool.checkout") })
        // The heading's numbers are the rows' numbers: the first frame shown is frame 2.
        #expect(heading.contains("frames 2-"), "\(heading)")
        let lastShown = rows.compactMap { row in
            row.split(separator: "│").first.flatMap {
                Int($0.trimmingCharacters(in: .whitespaces).prefix { $0.isNumber })
            }
        }.last
        #expect(lastShown.map { heading.contains("frames 2-\($0) of 24") } == true, "\(heading) \(rows)")
    }

    /// `l` (one row of the key table) shows the library's frames and folds them again.
    @Test func lShowsAndFoldsTheLibraryFrames() {
        var state = Self.opened()
        #expect(KeyTable.bindings().contains { $0.keys == [.character("l")] && $0.contexts == [.leakDetail] })
        _ = state.update(.keyPressed(.character("l")))
        let (heading, rows) = Self.stack(state)
        #expect(rows[0].contains("   0  ConnectionManager.ConnectionPool.checkou"), "\(rows[0])")
        #expect(heading.contains("frames 0-"), "\(heading)")
        _ = state.update(.keyPressed(.character("l")))
        #expect(Self.stack(state).rows[0].contains("2 library frames"))
    }

    @Test func libraryFramesAreTheLeadingConnectionManagerOnes() {
        let frames = Fixtures.stack()
        #expect(LeakDetail.leadingLibraryFrames(frames) == 2)
        #expect(LeakDetail.isLibraryFrame(StackFrame(index: 0, symbol: "closure #1 in ConnectionManager.X.y()")))
        #expect(!LeakDetail.isLibraryFrame(frames[2]))
        // All library (nothing of the caller's captured): nothing is folded away.
        #expect(LeakDetail.leadingLibraryFrames(Array(frames.prefix(2))) == 0)
    }
}
