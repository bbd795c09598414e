import PoolModel

/// Connections held past the threshold (oldest first), then recently returned ones, dimmed.
struct LeaksPanel {
    var context: PanelContext

    func render(in area: Rect, into buffer: inout Buffer) {
        let g = buffer.glyphs
        let snap = context.snapshot
        let state = context.state
        let leaks = state.visibleLeaks
        let returnedLeaks = state.visibleReturnedLeaks
        let focused = state.focus == .leaks && state.mode == .main
        let countStyle = snap.leaks.isEmpty ? Style(.ok) : Style(.critical, .bold)
        Block(
            title: [Span("Leaks ", Style(.title, .bold)), Span("\(snap.leaks.count)", countStyle)]
                + FilterTitle.spans(state, .leaks)
                + SortTitle.spans(state.leakSort == .held ? nil : state.leakSort.label),
            isFocused: focused,
            trailing: [Span("threshold \(Int(snap.leakThreshold))s · total \(snap.totalLeaked)", Style(.muted))]
        ).render(in: area, into: &buffer)
        let inner = Block.inner(of: area)
        guard inner.height >= 1 else { return }
        if snap.leaks.isEmpty && snap.returnedLeaks.isEmpty {
            buffer.write(
                [
                    Span(" \(g.check) ", Style(.ok, .bold)),
                    Span("no connection held longer than the threshold", .muted),
                ],
                in: inner.row(0))
            return
        }
        if leaks.isEmpty && returnedLeaks.isEmpty, let filter = state.filters[.leaks] {
            buffer.write(
                " no leak matches /\(filter)", x: inner.x, y: inner.y,
                maxWidth: inner.width, style: .muted)
            return
        }
        let wide = inner.width >= 100
        let columns = Layout.horizontal(
            [
                .length(2), .length(6), .length(8), .length(wide ? 20 : 13), .length(7), .length(wide ? 22 : 15),
                .fill(1),
            ], spacing: 1
        ).split(inner)
        func cell(_ i: Int, _ row: Int, _ text: String, _ style: Style) {
            let c = columns[i]
            buffer.write(text, x: c.x, y: inner.y + row, maxWidth: c.width, style: style)
        }
        let headers = ["", "ID", "HELD", "THREAD", "PID", "SERVER", "LAST SQL"]
        for (i, h) in headers.enumerated() { cell(i, 0, h, Style(.muted, .bold)) }

        let rows = inner.height - 1
        guard rows > 0 else { return }
        // Keep the selection visible: scroll just enough.
        let selected = state.selectedLeak
        let offset = max(0, min(selected - rows + 1, leaks.count - rows))
        var row = 1
        for (i, leak) in leaks.enumerated().dropFirst(offset) {
            guard row <= rows else { break }
            let isSelected = focused && i == selected
            let base = isSelected ? Style(.selection) : Style(.text)
            if isSelected { buffer.fill(inner.row(row), " ", base) }
            cell(0, row, isSelected ? String(g.pointer) : "", base)
            cell(1, row, "#\(leak.info.connectionID)", base.with(.bold))
            cell(2, row, Format.age(leak.heldFor), isSelected ? base : Style(.critical, .bold))
            cell(3, row, leak.info.threadName, base)
            cell(4, row, "\(leak.info.backendPID)", base)
            let server = leak.server?.state ?? "?"
            let serverStyle = isSelected ? base : server.hasPrefix("idle in") ? Style(.warning) : Style(.text)
            cell(5, row, server, serverStyle)
            cell(6, row, leak.info.lastSQL.map(Format.oneLine) ?? "—", isSelected ? base : Style(.muted))
            row += 1
        }
        for returned in returnedLeaks {
            guard row <= rows else { break }
            let s = Style(.muted, .dim)
            cell(1, row, "#\(returned.info.connectionID)", s)
            let ago = Format.age(context.now.timeIntervalSince(returned.returnedAt))
            buffer.write(
                "\(g.check) returned after \(Format.age(returned.heldFor)) (\(ago) ago) · \(returned.info.threadName)"
                    + (returned.info.lastSQL.map { " · " + Format.oneLine($0) } ?? ""),
                x: columns[2].x, y: inner.y + row, maxWidth: inner.maxX - columns[2].x, style: s)
            row += 1
        }
        if offset > 0 {
            buffer.write("\(g.up)\(offset)", x: inner.maxX - 4, y: inner.y, maxWidth: 4, style: .muted)
        }
        let below = leaks.count - offset - rows
        if below > 0 {
            buffer.write("\(g.down)\(below)", x: inner.maxX - 4, y: inner.maxY, maxWidth: 4, style: .muted)
        }
    }
}
