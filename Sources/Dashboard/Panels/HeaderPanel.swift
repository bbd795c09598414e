import PoolModel

/// Row 0: whose pool and whether it is OK — the service (pid, pool) when attached, the target, role,
/// health, failovers, uptime, refresh; STALE with its age when an attached service stopped answering.
struct HeaderPanel {
    var context: PanelContext

    func render(in area: Rect, into buffer: inout Buffer) {
        let g = buffer.glyphs
        let state = context.state
        let snap = context.snapshot
        let h = Style(.header)
        let bar = Span(g.vertical.description, Style(.header, .dim))
        buffer.fill(area, " ", h)
        var flags: [Span] = []
        if case .stale(let since, _, let checkedAt) = state.sourceStatus {
            flags.append(
                Span(" STALE \(Format.age(checkedAt.timeIntervalSince(since))) ", Style(.critical, [.reverse, .bold])))
        }
        if let alarm = snap.server?.alarm {
            // The server answers, but its clients are stuck: never a plain "healthy".
            flags.append(Span(" \(g.cross) \(alarm.count) BLOCKED ", Style(.critical, [.reverse, .bold])))
        }
        if state.isPaused { flags.append(Span(" PAUSED ", Style(.warning, [.reverse, .bold]))) }
        let essential = [Span(" \(Self.role(snap)) ", h.with(.bold)), bar, Self.health(snap, glyphs: g)]
        // Dropped from the end when the left side (who and where) needs the room.
        var optional: [[Span]] = [
            [bar, Span(" failovers \(snap.failover.failoverCount) ", h)],
            [bar, Span(" up \(Format.age(context.now.timeIntervalSince(snap.startedAt))) ", h)],
            [bar, Span(" \(Format.interval(state.refreshInterval)) ", h)],
        ]
        let left = Self.identity(state)
        var url = snap.failover.currentURL
        let leftWidth = left.reduce(0) { $0 + Text.width(of: $1.text) }
        func width(_ spans: [Span]) -> Int { spans.reduce(0) { $0 + Text.width(of: $1.text) } }
        var right = flags + essential + optional.flatMap { $0 }
        // Room for the identity and the start of the target (`host:port…`); the rest is cut with an ellipsis.
        let needed = leftWidth + min(Text.width(of: Format.shortTarget(url)), 16) + 1
        while !optional.isEmpty, needed + width(right) > area.width {
            optional.removeLast()
            right = flags + essential + optional.flatMap { $0 }
        }
        let rightWidth = width(right)
        let room = max(0, area.width - rightWidth - 1)
        if leftWidth + Text.width(of: url) > room { url = Format.shortTarget(url) }
        buffer.write(left + [Span(url, h)], in: Rect(x: area.x, y: area.y, width: room, height: 1))
        if rightWidth <= area.width {
            buffer.write(right, in: Rect(x: area.maxX - rightWidth, y: area.y, width: rightWidth, height: 1))
        }
    }

    /// The current target's role as last seen: never "standby" for a target that is down or not yet checked.
    static func role(_ snap: ManagerSnapshot) -> String {
        let current = snap.failover.targets.first { $0.isCurrent }
        switch current?.role {
        case .primary: return "primary"
        case .standby: return "standby"
        case .unreachable: return "unreachable"
        case .unknown, nil:
            if snap.failover.isPrimary { return "primary" }
            return snap.health.state == .checking ? "checking…" : "role unknown"
        }
    }

    /// The health verdict: "healthy" only for a recent passing check, never before the first or when stale.
    static func health(_ snap: ManagerSnapshot, glyphs g: Glyphs) -> Span {
        switch snap.health.state {
        case .healthy: return Span(" \(g.check) healthy ", Style(.ok, [.bold, .reverse]))
        case .failing: return Span(" \(g.cross) UNHEALTHY ", Style(.critical, [.bold, .reverse]))
        case .stale: return Span(" ? check stale ", Style(.warning, [.bold, .reverse]))
        case .checking: return Span(" … checking ", Style(.header, .bold))
        case .unknown: return Span(" ? not checked ", Style(.header, .bold))
        }
    }

    /// The left of the header: the title, or the service (pid, pool) when attached.
    static func identity(_ state: DashboardState) -> [Span] {
        guard case .attached(let service) = state.source else {
            return [Span(" \(state.title) ", Style(.header, .bold))]
        }
        var spans = [Span(" \(service.program)", Style(.header, .bold)), Span(" pid \(service.pid)", Style(.header))]
        if service.poolName != service.program {
            spans += [Span(" pool ", Style(.header)), Span(service.poolName, Style(.header, .bold))]
        }
        if !service.mayAct { spans.append(Span(" read-only", Style(.header, [.bold, .underline]))) }
        spans.append(Span(" ", Style(.header)))
        return spans
    }
}

/// The advice line(s): the latest command's status first, then hints, most urgent first.
struct HintsPanel {
    var context: PanelContext

    static func lines(_ context: PanelContext) -> [Span] {
        var out: [Span] = []
        if case .stale(let since, let reason, let checkedAt) = context.state.sourceStatus {
            let age = Format.age(checkedAt.timeIntervalSince(since))
            out.append(
                Span("disconnected, retrying: \(reason); last state \(age) ago", Style(.critical, .bold)))
        }
        let hints = Hints.compute(context.snapshot, highSince: context.state.highUtilizationSince)
        // Critical hints come before a command's status: at 80×24 only the first line shows, and a
        // 10 s status message must never hide "health checks failing" or blocked sessions.
        for hint in hints where hint.severity == .critical {
            out.append(Span(hint.text, Style(.critical)))
        }
        if let status = context.state.visibleStatus {
            out.append(Span(status.text, status.isError ? Style(.critical, .bold) : Style(.accent)))
        }
        for hint in hints {
            switch hint.severity {
            case .critical: continue
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
            // The bar's own role, bold: an accent-colored key would punch a hole in the bar's background.
            buffer.write(key, x: x, y: area.y, maxWidth: w, style: Style(.header, .bold))
            buffer.write(word, x: x + Text.width(of: key) + 1, y: area.y, maxWidth: w, style: Style(.header))
            x += w + 2
        }
    }
}
