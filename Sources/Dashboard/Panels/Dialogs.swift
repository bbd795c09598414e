import PoolModel

/// The manual failover picker: "next suitable" plus each target with role and health.
struct FailoverPickerView {
    var context: PanelContext
    var selected: Int

    func render(in area: Rect, into buffer: inout Buffer) {
        let g = buffer.glyphs
        let targets = context.snapshot.failover.targets
        let allowsStandby = context.snapshot.failover.allowsReadOnlyTargets == true
        let refusals = targets.map { Self.refusal($0, allowsStandby: allowsStandby) }
        let explains = refusals.contains { $0 != nil }
        let box = area.centered(width: min(76, area.width - 2), height: targets.count + 5 + (explains ? 1 : 0))
        Block(title: [Span("Fail over to…", Style(.title, .bold))], isFocused: true).renderFloating(
            in: box, into: &buffer)
        let inner = Block.inner(of: box).insetHorizontally(by: 1)
        let auto = selected == 0
        if auto { buffer.fill(inner.row(0), " ", Style(.selection)) }
        buffer.write(
            [
                Span(auto ? "\(g.pointer) " : "  ", auto ? Style(.selection) : .text),
                Span("next suitable target (the manager chooses)", auto ? Style(.selection) : Style(.text)),
            ], in: inner.row(0))
        for (i, t) in targets.enumerated() {
            let isSelected = selected == i + 1
            let r = inner.row(i + 1)
            if isSelected { buffer.fill(r, " ", Style(.selection)) }
            var spans = TargetRow(target: t, isSelected: isSelected).spans(g, urlWidth: max(8, inner.width - 33))
            if let why = refusals[i] {
                spans.append(
                    Span("  \(g.cross) \(why)", isSelected ? Style(.selection, .bold) : Style(.warning, .bold)))
            }
            buffer.write(spans, in: r)
        }
        if explains {
            // What a marked target will be refused for, and the setting that would allow a standby.
            buffer.write(
                [
                    Span("\(g.cross) will be refused", Style(.warning, .bold)),
                    Span(" · a standby only with DB_FAILOVER_ALLOW_READ_ONLY=true", Style(.muted)),
                ], in: inner.row(inner.height - 2))
        }
        buffer.write(
            [
                Span("* current  ", Style(.muted)), Span("Enter", Style(.accent, .bold)), Span(" choose  ", .muted),
                Span("Esc", Style(.accent, .bold)), Span(" cancel", .muted),
            ],
            in: inner.row(inner.height - 1))
    }
}

extension FailoverPickerView {
    /// Why the manager will refuse a manual failover to this target (its `refuseManual` reasons), if it will:
    /// it is the current one, it does not answer, or it is a standby (allowed only by DB_FAILOVER_ALLOW_READ_ONLY).
    /// `allowsStandby`: the service runs with DB_FAILOVER_ALLOW_READ_ONLY=true, so a standby is accepted.
    static func refusal(_ t: TargetStatus, allowsStandby: Bool = false) -> String? {
        if t.isCurrent { return "current" }
        if t.role == .unreachable || !t.healthy { return "unreachable" }
        if t.role == .standby, !allowsStandby { return "standby" }
        return nil
    }
}

/// A y/n question before a command that changes something.
struct ConfirmView {
    var context: PanelContext
    var action: PendingAction

    func question() -> String {
        let snap = context.snapshot
        switch action {
        case .failover(nil):
            return "Fail over to the next suitable target now?"
        case .failover(let target?):
            let t = snap.failover.targets.first { $0.index == target }
            let what = t.map {
                "\(Format.shortTarget($0.url)) (\($0.role.rawValue), \($0.healthy ? "healthy" : "UNHEALTHY"))"
            }
            return "Fail over to \(what ?? "target \(target)") now?"
        case .terminateLeak(let id):
            let leak = snap.leaks.first { $0.info.connectionID == id }
            let pid = leak.map { ", backend pid \($0.info.backendPID)" } ?? ""
            return "Terminate leaked connection #\(id)\(pid) on the server?"
        case .suspend:
            return "Suspend checkouts? Callers will wait until you resume."
        case .resume:
            return "Resume checkouts?"
        case .demo(let i):
            let help = context.state.demoHelp.indices.contains(i) ? context.state.demoHelp[i] : "demo action"
            return "Run: \(help)?"
        case .cancelBackend(let pid):
            return "Cancel the statement of \(ServerText.describe(pid: pid, in: snap.server))?"
        case .terminateBackend(let pid):
            return "Terminate the session \(ServerText.describe(pid: pid, in: snap.server))?"
        }
    }

    func render(in area: Rect, into buffer: inout Buffer) {
        let text = question()
        let width = min(area.width - 2, max(40, Text.width(of: text) + 4))
        let lines = Text.wrap(text, width: width - 4)
        let box = area.centered(width: width, height: lines.count + 4)
        Block(title: [Span("Confirm", Style(.warning, .bold))], isFocused: true).renderFloating(in: box, into: &buffer)
        let inner = Block.inner(of: box).insetHorizontally(by: 1)
        for (i, l) in lines.enumerated() {
            buffer.write(l, x: inner.x, y: inner.y + i, maxWidth: inner.width, style: Style(.text, .bold))
        }
        buffer.write(
            [
                Span("y", Style(.accent, .bold)), Span(" yes   ", .muted), Span("n", Style(.accent, .bold)),
                Span("/", .muted), Span("Esc", Style(.accent, .bold)), Span(" no", .muted),
            ],
            in: inner.row(inner.height - 1))
    }
}

/// The result of a failover: switched, or refused and why.
struct OutcomeView {
    var dialog: OutcomeDialog

    func render(in area: Rect, into buffer: inout Buffer) {
        let g = buffer.glyphs
        let width = min(area.width - 2, 70)
        var lines: [Span] = []
        if let outcome = dialog.outcome {
            let head =
                outcome.succeeded
                ? Span("\(g.check) Switched", Style(.ok, .bold))
                : Span("\(g.cross) Refused", Style(.critical, .bold))
            lines.append(head)
            lines += Text.wrap(outcome.message, width: width - 4).map { Span($0) }
        } else {
            lines.append(Span("Working…", Style(.warning, .bold)))
        }
        let box = area.centered(width: width, height: lines.count + 4)
        Block(title: [Span(dialog.title, Style(.title, .bold))], isFocused: true).renderFloating(in: box, into: &buffer)
        let inner = Block.inner(of: box).insetHorizontally(by: 1)
        for (i, span) in lines.enumerated() { buffer.write([span], in: inner.row(i)) }
        buffer.write(
            [
                Span("Enter", Style(.accent, .bold)), Span("/", .muted), Span("Esc", Style(.accent, .bold)),
                Span(" close", .muted),
            ],
            in: inner.row(inner.height - 1))
    }
}

/// Every key binding, drawn from the key table (so it cannot drift from what keys do).
struct HelpOverlay {
    var state: DashboardState

    func render(in area: Rect, into buffer: inout Buffer) {
        let bindings = state.keyTable
        let twoColumns = area.width < 120
        let perColumn = twoColumns ? (bindings.count + 1) / 2 : bindings.count
        let box = area.centered(width: min(area.width, twoColumns ? 80 : 60), height: perColumn + 4)
        Block(
            title: [Span("Keys", Style(.title, .bold))], isFocused: true,
            trailing: [Span("? or Esc closes", Style(.muted))]
        ).renderFloating(in: box, into: &buffer)
        let inner = Block.inner(of: box).insetHorizontally(by: 1)
        let columns = Layout.horizontal(twoColumns ? [.fill(1), .fill(1)] : [.fill(1)], spacing: 2).split(inner)
        for (i, b) in bindings.enumerated() {
            let column = columns[i / perColumn]
            let row = column.row(i % perColumn)
            let active = b.contexts.contains(state.isHelpVisible ? helpUnderlyingContext : state.context)
            buffer.write(
                [
                    Span(Text.pad(b.label, to: 8), Style(.accent, .bold)),
                    Span(b.help, active ? Style(.text) : Style(.muted)),
                ],
                in: row)
        }
        buffer.write(
            "Dimmed keys do nothing in the current view.", x: inner.x, y: inner.maxY - 1, maxWidth: inner.width,
            style: .muted)
    }

    /// The context under the overlay (what the keys would do once it closes).
    private var helpUnderlyingContext: KeyContext {
        var s = state
        s.isHelpVisible = false
        return s.context
    }
}
