import PoolModel

/// The whole screen as a pure function of the state: `DashboardView.render(state, glyphs:)`.
public enum DashboardView {
    public static let minimumWidth = 80
    public static let minimumHeight = 24

    /// Renders a full frame of `state.width`×`state.height`.
    public static func render(_ state: DashboardState, glyphs: Glyphs = .unicode) -> Buffer {
        var buffer = Buffer(width: state.width, height: state.height, glyphs: glyphs)
        render(state, into: &buffer)
        return buffer
    }

    /// Below 80×24: what matters in one line (health, in use, leaks, how to quit), then why the rest is missing.
    static func renderTooSmall(_ state: DashboardState, in area: Rect, into buffer: inout Buffer) {
        var spans: [Span] = []
        if let snap = state.snapshot {
            let health = HeaderPanel.health(snap, glyphs: buffer.glyphs)
            let m = snap.metrics
            spans = [
                health, Span(" \(m.checkedOut)/\(m.size) in use ", .header),
                Span(" leaks \(snap.leaks.count) ", snap.leaks.isEmpty ? .header : Style(.warning, .bold)),
            ]
            if case .stale = state.sourceStatus {
                spans.insert(Span(" STALE ", Style(.critical, [.reverse, .bold])), at: 0)
            }
        }
        spans.append(Span(" q quits ", Style(.muted)))
        buffer.write(spans, in: area.row(0))
        if area.height > 1 {
            let text = "need \(minimumWidth)×\(minimumHeight) for the full view, have \(area.width)×\(area.height)"
            buffer.write(text, x: 0, y: 1, maxWidth: area.width, style: Style(.muted))
        }
    }

    public static func render(_ state: DashboardState, into buffer: inout Buffer) {
        let area = buffer.area
        guard area.width >= minimumWidth, area.height >= minimumHeight else {
            renderTooSmall(state, in: area, into: &buffer)
            return
        }
        guard let snapshot = state.snapshot else {
            buffer.fill(area.row(0), " ", .header)
            buffer.write(
                " \(state.title): waiting for the first snapshot…", x: 0, y: 0, maxWidth: area.width, style: .header)
            FooterPanel(state: state).render(in: area.row(area.height - 1), into: &buffer)
            return
        }
        let context = PanelContext(state: state, snapshot: snapshot)
        let isWide = area.width >= 140 && area.height >= 36
        let hintCount = HintsPanel.lines(context).count
        let hintRows = isWide ? max(1, min(3, hintCount)) : 1
        let rows = Layout.vertical([.length(1), .length(hintRows), .fill(1), .length(1)]).split(area)
        HeaderPanel(context: context).render(in: rows[0], into: &buffer)
        HintsPanel(context: context).render(in: rows[1], into: &buffer)
        FooterPanel(state: state).render(in: rows[3], into: &buffer)
        FilterInputLine(state: state).render(in: rows[3], into: &buffer)

        let body = rows[2]
        if case .leakDetail(let detail) = state.mode {
            LeakDetailView(context: context, detail: detail).render(in: body, into: &buffer)
        } else if case .eventDetail(let detail) = state.mode {
            EventDetailView(context: context, detail: detail).render(in: body, into: &buffer)
        } else if let browser = state.mode.serverBrowser {
            ServerDetailView(context: context, browser: browser).render(in: body, into: &buffer)
        } else if isWide {
            renderWide(context, in: body, into: &buffer)
        } else {
            renderCompact(context, in: body, into: &buffer)
        }

        switch state.mode {
        case .failoverPicker(let selected):
            FailoverPickerView(context: context, selected: selected).render(in: body, into: &buffer)
        case .confirm(let action, _):
            ConfirmView(context: context, action: action).render(in: body, into: &buffer)
        case .outcome(let dialog):
            OutcomeView(dialog: dialog).render(in: body, into: &buffer)
        case .main, .leakDetail, .serverView, .eventDetail:
            break
        }
        if state.isHelpVisible {
            HelpOverlay(state: state).render(in: area, into: &buffer)
        }
    }

    /// 80×24 and up to 140 columns: pool | health, leaks, failover | events, stacked.
    static func renderCompact(_ context: PanelContext, in body: Rect, into buffer: inout Buffer) {
        let extra = max(0, body.height - 22)
        var parts: [Rect]
        if context.snapshot.server != nil {
            // The Server panel takes a row from Failover/Events and one line grows with the height.
            parts = Layout.vertical([
                .length(6 + extra / 4), .length(3 + min(3, extra / 8)), .min(5), .length(7 + extra / 4),
            ]).split(body)
            ServerPanel(context: context).render(in: parts.remove(at: 1), into: &buffer)
        } else {
            parts = Layout.vertical([.length(6 + extra / 4), .min(5), .length(8 + extra / 4)]).split(body)
        }
        let top = Layout.horizontal([.fill(1), .fill(1)]).split(parts[0])
        PoolPanel(context: context).render(in: top[0], into: &buffer)
        HealthPanel(context: context).render(in: top[1], into: &buffer)
        LeaksPanel(context: context).render(in: parts[1], into: &buffer)
        let bottom = Layout.horizontal([.fill(1), .fill(1)]).split(parts[2])
        FailoverPanel(context: context).render(in: bottom[0], into: &buffer)
        EventsPanel(context: context).render(in: bottom[1], into: &buffer)
    }

    /// 140×36 and more: two columns, taller histories, more rows.
    static func renderWide(_ context: PanelContext, in body: Rect, into buffer: inout Buffer) {
        let columns = Layout.horizontal([.fill(1), .fill(1)]).split(body)
        let left = Layout.vertical([.percentage(33), .percentage(33), .fill(1)]).split(columns[0])
        PoolPanel(context: context).render(in: left[0], into: &buffer)
        HealthPanel(context: context).render(in: left[1], into: &buffer)
        FailoverPanel(context: context).render(in: left[2], into: &buffer)
        if context.snapshot.server != nil {
            let right = Layout.vertical([.length(6), .fill(3), .fill(2)]).split(columns[1])
            ServerPanel(context: context).render(in: right[0], into: &buffer)
            LeaksPanel(context: context).render(in: right[1], into: &buffer)
            EventsPanel(context: context).render(in: right[2], into: &buffer)
            return
        }
        let right = Layout.vertical([.fill(3), .fill(2)]).split(columns[1])
        LeaksPanel(context: context).render(in: right[0], into: &buffer)
        EventsPanel(context: context).render(in: right[1], into: &buffer)
    }
}

extension Mode {
    /// The server view on screen: its own mode, or the one a confirmation returns to.
    var serverBrowser: ServerBrowser? {
        switch self {
        case .serverView(let browser): return browser
        case .confirm(_, let back): return back.serverBrowser
        default: return nil
        }
    }
}
