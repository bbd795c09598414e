import ConnectionManager

/// Row 0: what we watch and whether it is OK — target, role, health, failovers, uptime, refresh.
struct HeaderPanel {
    var context: PanelContext

    func render(in area: Rect, into buffer: inout Buffer) {
        let g = buffer.glyphs
        let state = context.state
        let snap = context.snapshot
        let h = Style(.header)
        buffer.fill(area, " ", h)
        var right: [Span] = []
        if state.isPaused { right.append(Span(" PAUSED ", Style(.warning, [.reverse, .bold]))) }
        right += [
            Span(" \(snap.failover.isPrimary ? "primary" : "standby") ", h.with(.bold)),
            Span(g.vertical.description, Style(.header, .dim)),
            snap.isHealthy
                ? Span(" \(g.check) healthy ", Style(.ok, .bold))
                : Span(" \(g.cross) UNHEALTHY ", Style(.critical, [.bold, .reverse])),
            Span(g.vertical.description, Style(.header, .dim)),
            Span(" failovers \(snap.failover.failoverCount) ", h),
            Span(g.vertical.description, Style(.header, .dim)),
            Span(" up \(Format.age(context.now.timeIntervalSince(snap.startedAt))) ", h),
            Span(g.vertical.description, Style(.header, .dim)),
            Span(" \(Format.interval(state.refreshInterval)) ", h),
        ]
        let rightWidth = right.reduce(0) { $0 + Text.width(of: $1.text) }
        let leftWidth = max(0, area.width - rightWidth - 1)
        let titleText = " \(state.title) "
        var url = snap.failover.currentURL
        if Text.width(of: titleText) + Text.width(of: url) > leftWidth { url = Format.shortTarget(url) }
        let left = [Span(titleText, Style(.header, .bold)), Span(url, h)]
        buffer.write(left, in: Rect(x: area.x, y: area.y, width: leftWidth, height: 1))
        if rightWidth <= area.width {
            buffer.write(right, in: Rect(x: area.maxX - rightWidth, y: area.y, width: rightWidth, height: 1))
        }
    }
}

/// The advice line(s): the latest command's status first, then hints, most urgent first.
struct HintsPanel {
    var context: PanelContext

    static func lines(_ context: PanelContext) -> [Span] {
        var out: [Span] = []
        if let status = context.state.visibleStatus {
            out.append(Span(status.text, status.isError ? Style(.critical, .bold) : Style(.accent)))
        }
        for hint in Hints.compute(context.snapshot, highSince: context.state.highUtilizationSince) {
            switch hint.severity {
            case .critical: out.append(Span(hint.text, Style(.critical)))
            case .warning: out.append(Span(hint.text, Style(.warning)))
            case .info: out.append(Span(hint.text, Style(.muted)))
            }
        }
        return out
    }

    func render(in area: Rect, into buffer: inout Buffer) {
        let g = buffer.glyphs
        let lines = Self.lines(context)
        if lines.isEmpty {
            buffer.write(
                [Span(" \(g.check) ", Style(.ok)), Span("No problems seen.", Style(.muted))], in: area.row(0))
            return
        }
        for (i, span) in lines.prefix(area.height).enumerated() {
            let glyph: Character =
                span.style.role == .critical ? g.cross : span.style.role == .warning ? g.warning : g.dot
            var row = area.row(i)
            // Too many hints for the room: say how many more there are, at the right edge.
            if i == area.height - 1, lines.count > area.height {
                let more = " +\(lines.count - area.height) more"
                let w = Text.width(of: more)
                buffer.write(more, x: row.maxX - w, y: row.y, maxWidth: w, style: Style(.muted))
                row.width -= w
            }
            buffer.write([Span(" \(glyph) ", span.style.with(.bold)), Span(span.text, span.style)], in: row)
        }
    }
}

/// The last row: the keys that work in the current view, from the key table.
struct FooterPanel {
    var state: DashboardState

    func render(in area: Rect, into buffer: inout Buffer) {
        buffer.fill(area, " ", Style(.header))
        var x = area.x + 1
        for binding in state.activeBindings {
            guard let footer = binding.footer else { continue }
            let parts = footer.split(separator: " ", maxSplits: 1).map(String.init)
            let key = parts[0]
            let word = parts.count > 1 ? parts[1] : ""
            let w = Text.width(of: key) + 1 + Text.width(of: word)
            if x + w > area.maxX { break }
            buffer.write(key, x: x, y: area.y, maxWidth: w, style: Style(.accent, .bold))
            buffer.write(word, x: x + Text.width(of: key) + 1, y: area.y, maxWidth: w, style: Style(.header))
            x += w + 2
        }
    }
}
