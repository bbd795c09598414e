import PoolModel

/// Targets with role and health (current one marked), then the latest switches.
struct FailoverPanel {
    var context: PanelContext

    func render(in area: Rect, into buffer: inout Buffer) {
        let g = buffer.glyphs
        let f = context.snapshot.failover
        let state = context.state
        let focused = state.focus == .failover && state.mode == .main
        Block(
            title: [Span("Failover", Style(.title, .bold))], isFocused: focused,
            trailing: [
                Span(
                    "\(f.failoverCount) switch\(f.failoverCount == 1 ? "" : "es") · auto \(f.enabled ? "on" : "off")",
                    Style(.muted))
            ]
        ).render(in: area, into: &buffer)
        let inner = Block.inner(of: area)
        guard inner.height >= 1 else { return }
        var row = 0
        for (i, t) in f.targets.enumerated() {
            guard row < inner.height else { return }
            let line = inner.row(row)
            let isSelected = focused && i == state.selectedTarget
            if isSelected { buffer.fill(line, " ", Style(.selection)) }
            buffer.write(
                TargetRow(target: t, isSelected: isSelected).spans(g, urlWidth: max(8, inner.width - 20)), in: line)
            row += 1
        }
        if f.targets.isEmpty {
            buffer.write("no targets", x: inner.x + 1, y: inner.y, maxWidth: inner.width - 1, style: .muted)
            row += 1
        }
        for event in f.history.reversed() {
            guard row < inner.height else { return }
            let when = context.clock(event.at)
            var spans = [Span(" \(when) ", Style(.muted)), Span("\(event.reason.rawValue) ", Style(.accent))]
            if let refusal = event.refusal {
                spans += [Span("\(g.cross) refused: ", Style(.critical, .bold)), Span(refusal, Style(.critical))]
            } else {
                spans += [
                    Span("\(Format.shortTarget(event.from))\(g.arrow)\(Format.shortTarget(event.to)) ", Style(.text)),
                    Span(Format.latency(event.duration), Style(.muted)),
                ]
            }
            buffer.write(spans, in: inner.row(row))
            row += 1
        }
    }
}

/// One target as a line: marker, current dot, URL, role, health.
struct TargetRow {
    var target: TargetStatus
    var isSelected: Bool

    func spans(_ g: Glyphs, urlWidth: Int? = nil) -> [Span] {
        let base = isSelected ? Style(.selection) : Style(.text)
        let role: Style = isSelected ? base : target.role == .primary ? Style(.accent, .bold) : Style(.text)
        let health =
            isSelected
            ? Span(
                target.healthy ? "\(g.check) OK" : "\(g.cross) FAIL", base.with(.bold))
            : Badge.health(target.healthy, g)
        let width = urlWidth ?? 16
        var url = Format.shortTarget(target.url)
        // host:port identifies a target better than a cut-off database name.
        if Text.width(of: url) > width, let slash = url.firstIndex(of: "/") { url = String(url[..<slash]) }
        return [
            Span(isSelected ? "\(g.pointer)" : " ", base),
            Span(target.isCurrent ? "* " : "  ", isSelected ? base : Style(.accent, .bold)),
            Span(Text.pad(url, to: width, ellipsis: g.ellipsis) + " ", base),
            Span(Text.pad(target.role.rawValue, to: 8) + " ", role),
            health,
        ]
    }
}
