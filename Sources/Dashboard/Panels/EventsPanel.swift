import PoolModel

/// The event log, newest first; consecutive repeats fold into one row (`×27`, the newest time). The top row is
/// the selected one (j/k scroll back in time); Enter opens ``EventDetailView``.
struct EventsPanel {
    var context: PanelContext

    func render(in area: Rect, into buffer: inout Buffer) {
        let g = buffer.glyphs
        let state = context.state
        let groups = state.visibleEvents
        let focused = state.focus == .events && state.mode == .main
        Block(
            title: [Span("Events", Style(.title, .bold))] + FilterTitle.spans(state, .events), isFocused: focused,
            trailing: state.eventScroll > 0 ? [Span("\(g.down)\(state.eventScroll) older", Style(.muted))] : []
        ).render(in: area, into: &buffer)
        let inner = Block.inner(of: area)
        guard inner.height >= 1 else { return }
        if groups.isEmpty, let filter = state.filters[.events], !(context.snapshot.events.isEmpty) {
            buffer.write(
                "no event matches /\(filter)", x: inner.x + 1, y: inner.y, maxWidth: inner.width - 1, style: .muted)
            return
        }
        if groups.isEmpty {
            buffer.write("no events yet", x: inner.x + 1, y: inner.y, maxWidth: inner.width - 1, style: .muted)
            return
        }
        for (row, group) in groups.dropFirst(state.eventScroll).prefix(inner.height).enumerated() {
            let isSelected = focused && row == 0
            let (glyph, style) = Self.look(group.newest.kind, g)
            // The selected row is marked by a glyph too, not by color alone.
            let time = "\(isSelected ? String(g.pointer) : " ")\(context.clock(group.newest.at)) "
            let count = group.count > 1 ? " ×\(group.count)" : ""
            // The count stays visible: the message is cut before it.
            let room = inner.width - Text.width(of: time) - 2 - Text.width(of: count)
            let message = Text.truncate(Format.oneLine(group.newest.message), to: max(0, room))
            let messageStyle = style.role == .critical ? style : Style(.text)
            if isSelected { buffer.fill(inner.row(row), " ", Style(.selection)) }
            buffer.write(
                [
                    Span(time, isSelected ? Style(.selection) : Style(.muted)),
                    Span("\(glyph) ", isSelected ? Style(.selection) : style.with(.bold)),
                    Span(message, isSelected ? Style(.selection) : messageStyle),
                    Span(count, isSelected ? Style(.selection, .bold) : Style(.warning, .bold)),
                ], in: inner.row(row))
        }
    }

    static func look(_ kind: PoolEvent.Kind, _ g: Glyphs) -> (Character, Style) {
        switch kind {
        case .connectFailed, .healthCheckFailed, .failoverRefused, .poolTimeout:
            return (g.cross, Style(.critical))
        case .leakDetected, .suspended, .serverRestarted, .leakTerminated:
            return (g.warning, Style(.warning))
        case .healthRecovered, .leakReturned, .resumed, .failover:
            return (g.check, Style(.ok))
        case .evicted, .info:
            return (g.dot, Style(.muted))
        }
    }
}

/// The full text of one event (Enter on the Events panel): when, how often, and every line of the message,
/// wrapped and scrollable; Esc goes back.
struct EventDetailView {
    var context: PanelContext
    var detail: EventDetail

    /// Rows above the text inside the block: when and how often, a blank line.
    static let infoRows = 2

    /// Text rows visible at this terminal height (header, hints, footer, border and info rows excluded).
    static func textRows(height: Int) -> Int { max(1, height - 5 - infoRows) }

    /// The text width inside the view at this terminal width (border and one column of margin each side).
    static func textWidth(width: Int) -> Int { max(1, width - 4) }

    /// The message's lines (it may hold several), each wrapped to `width` columns.
    static func lines(_ group: EventGroup, width: Int) -> [String] {
        group.newest.message.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).flatMap {
            Text.wrap(String($0), width: width)
        }
    }

    func render(in area: Rect, into buffer: inout Buffer) {
        let g = buffer.glyphs
        let group = detail.group
        let (glyph, style) = EventsPanel.look(group.newest.kind, g)
        Block(
            title: [
                Span("Event ", Style(.title, .bold)), Span("\(glyph) \(group.newest.kind.rawValue)", style.with(.bold)),
            ], isFocused: true, trailing: [Span("j/k scroll · Esc back", Style(.muted))]
        ).render(in: area, into: &buffer)
        let inner = Block.inner(of: area).insetHorizontally(by: 1)
        guard inner.height > Self.infoRows else { return }
        var when = [Span("at ", Style(.muted)), Span(context.clock(group.newest.at), Style(.text, .bold))]
        if group.count > 1 {
            when += [
                Span(" · ", Style(.muted)), Span("×\(group.count)", Style(.warning, .bold)),
                Span(" since ", Style(.muted)), Span(context.clock(group.firstAt), Style(.text, .bold)),
            ]
        }
        when.append(Span(" · \(Format.age(context.now.timeIntervalSince(group.newest.at))) ago", Style(.muted)))
        buffer.write(when, in: inner.row(0))
        let lines = Self.lines(group, width: inner.width)
        let rows = inner.height - Self.infoRows
        for (i, line) in lines.dropFirst(detail.scroll).prefix(rows).enumerated() {
            buffer.write(line, x: inner.x, y: inner.y + Self.infoRows + i, maxWidth: inner.width, style: .text)
        }
        if detail.scroll > 0 {
            buffer.write("\(g.up)\(detail.scroll)", x: inner.maxX - 4, y: inner.y + 1, maxWidth: 4, style: .muted)
        }
        let below = lines.count - detail.scroll - rows
        if below > 0 {
            buffer.write("\(g.down)\(below)", x: inner.maxX - 4, y: inner.maxY, maxWidth: 4, style: .muted)
        }
    }
}
