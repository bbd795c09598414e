import PoolModel

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One leak up close: who holds it, what the server says, and the checkout stack (scrollable).
struct LeakDetailView {
    var context: PanelContext
    var detail: LeakDetail

    /// Lines of the info section above the stack.
    static let infoRows = 6

    /// Stack frames visible at this terminal height (header, hints, footer, border and info rows excluded).
    static func stackRows(height: Int) -> Int { max(1, height - 5 - infoRows) }

    func render(in area: Rect, into buffer: inout Buffer) {
        let g = buffer.glyphs
        let leak = detail.leak
        let info = leak.info
        var title = [
            Span("Leak #\(info.connectionID)", Style(.title, .bold)),
            Span(" held \(Format.age(leak.heldFor))", Style(.critical, .bold)),
        ]
        if detail.isGone { title.append(Span(" \(g.check) returned", Style(.ok, .bold))) }
        Block(title: title, isFocused: true, trailing: [Span("Esc back", Style(.muted))]).render(
            in: area, into: &buffer)
        let inner = Block.inner(of: area).insetHorizontally(by: 1)
        guard inner.height >= 1 else { return }
        let parts = Layout.vertical([.length(Self.infoRows - 1), .length(1), .fill(1)]).split(inner)
        let infoArea = parts[0]
        let label = Style(.muted)
        func line(_ row: Int, _ spans: [Span]) { buffer.write(spans, in: infoArea.row(row)) }

        line(
            0,
            [
                Span("since ", label), Span(context.clock(info.checkedOutAt)),
                Span("  thread ", label), Span(info.threadName, Style(.text, .bold)),
                Span("  backend pid ", label), Span("\(info.backendPID)"),
                Span("  ", label), Span(info.target, label),
            ])
        line(1, [Span("last SQL ", label), Span(info.lastSQL.map(Format.oneLine) ?? "—")])
        if let server = leak.server {
            var spans = [Span("server   ", label)]
            let state = server.state ?? "unknown"
            spans.append(Span(state, state.hasPrefix("idle in") ? Style(.warning, .bold) : Style(.text, .bold)))
            if let xact = server.xactStart {
                spans += [Span("  xact ", label), Span("\(Format.age(context.now.timeIntervalSince(xact))) ago")]
            }
            if let wait = server.waitEvent {
                spans += [
                    Span("  wait ", label),
                    Span([server.waitEventType, wait].compactMap { $0 }.joined(separator: "/")),
                ]
            }
            line(2, spans)
            line(3, [Span("query    ", label), Span(server.query.map(Format.oneLine) ?? "—")])
        } else {
            line(2, [Span("server   ", label), Span("not known (pg_stat_activity not read yet)", label)])
        }

        let stackArea = parts[2]
        guard let frames = detail.frames else {
            buffer.write([Span("Checkout stack ", Style(.accent, .bold)), Span("loading…", label)], in: parts[1])
            return
        }
        if frames.isEmpty {
            buffer.write(
                [
                    Span("Checkout stack ", Style(.accent, .bold)),
                    Span("not captured (stack capture off or not sampled for this checkout)", label),
                ], in: parts[1])
            return
        }
        let rows = detail.stackRows
        let first = min(detail.scroll, max(0, rows.count - 1))
        let last = min(rows.count, first + stackArea.height)
        // The heading counts frames by the numbers the rows show (the fold line is not a frame).
        let shown = rows[first..<last].compactMap { row -> Int? in
            if case .frame(let f) = row { return f.index }
            return nil
        }
        var heading = [Span("Checkout stack ", Style(.accent, .bold))]
        let range = shown.first.map { f in shown.last.map { $0 == f ? "frame \(f)" : "frames \(f)-\($0)" } ?? "" } ?? ""
        let library = LeakDetail.leadingLibraryFrames(frames)
        let libraryNote = library == 0 ? "" : detail.showsLibraryFrames ? ", l folds library" : ", from the caller"
        heading.append(Span("\(range) of \(frames.count)\(libraryNote)  j/k PgUp/PgDn", label))
        buffer.write(heading, in: parts[1])
        for (row, item) in rows[first..<last].enumerated() {
            guard case .frame(let frame) = item else {
                if case .folded(let count) = item {
                    let text = "\(g.ellipsis) \(count) library frame\(count == 1 ? "" : "s") (press l to show)"
                    buffer.write(
                        text, x: stackArea.x + 5, y: stackArea.row(row).y, maxWidth: stackArea.width - 5,
                        style: label)
                }
                continue
            }
            let r = stackArea.row(row)
            var location = ""
            if let file = frame.file {
                let short = file.split(separator: "/").suffix(2).joined(separator: "/")
                location = frame.line.map { "\(short):\($0)" } ?? short
            }
            let locWidth = min(Text.width(of: location), max(0, r.width / 2))
            let cols = Layout.horizontal([.length(4), .fill(1), .length(locWidth)], spacing: 1).split(r)
            buffer.write(Text.padLeft("\(frame.index)", to: 3), x: cols[0].x, y: r.y, maxWidth: 4, style: label)
            buffer.write(frame.symbol, x: cols[1].x, y: r.y, maxWidth: cols[1].width, style: .text)
            // Keep the file name's end (the part that identifies it) when cutting.
            let loc =
                Text.width(of: location) > locWidth
                ? String(g.ellipsis) + String(location.suffix(max(0, locWidth - 1))) : location
            buffer.write(loc, x: cols[2].x, y: r.y, maxWidth: cols[2].width, style: Style(.accent))
        }
    }
}
