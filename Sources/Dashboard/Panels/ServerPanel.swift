import PoolModel

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The server overview in one glance: sessions, `idle in transaction`, who blocks whom (and whether it is ours).
/// Drawn only when the snapshot has an overview; Enter opens ``ServerDetailView``.
struct ServerPanel {
    var context: PanelContext

    func render(in area: Rect, into buffer: inout Buffer) {
        guard let server = context.snapshot.server else { return }
        let state = context.state
        let focused = state.focus == .server && state.mode == .main
        Block(
            title: [Span("Server", Style(.title, .bold))], isFocused: focused,
            trailing: [Span(ServerText.applications(server, limit: 3), Style(.muted))]
        ).render(in: area, into: &buffer)
        let inner = Block.inner(of: area).insetHorizontally(by: 1)
        guard inner.height >= 1 else { return }
        buffer.write(ServerText.summary(server, now: context.now, glyphs: buffer.glyphs), in: inner.row(0))
        var lines: [[Span]] = [[Span("states ", Style(.muted)), Span(ServerText.states(server))]]
        if let query = server.longestQueries(1).first {
            lines.append(ServerText.longest("longest query", query, age: query.queryAge))
        }
        if let transaction = server.longestTransactions(1).first {
            lines.append(ServerText.longest("longest txn  ", transaction, age: transaction.transactionAge))
        }
        for (i, line) in lines.prefix(inner.height - 1).enumerated() { buffer.write(line, in: inner.row(i + 1)) }
    }
}

/// Every session of the server overview, blocking chains as a tree; c cancels, x terminates (after y/n).
struct ServerDetailView {
    var context: PanelContext
    var browser: ServerBrowser

    /// Rows above the table inside the block: the summary, the counts, the column headings.
    static let infoRows = 3

    /// Session rows visible at this terminal height (header, hints, footer, border and info rows excluded).
    static func tableRows(height: Int) -> Int { max(1, height - 5 - infoRows) }

    func render(in area: Rect, into buffer: inout Buffer) {
        let g = buffer.glyphs
        guard let server = context.snapshot.server else { return }
        Block(
            title: [
                Span("Server ", Style(.title, .bold)), Span("\(server.sessionCount) sessions", Style(.text, .bold)),
                Span(" · \(Format.shortTarget(server.target))", Style(.muted)),
            ] + FilterTitle.spans(context.state, .sessions)
                + SortTitle.spans(context.state.sessionSort == .chains ? nil : context.state.sessionSort.label),
            isFocused: true,
            trailing: [Span("c cancel · x terminate · Esc back", Style(.muted))]
        ).render(in: area, into: &buffer)
        let inner = Block.inner(of: area).insetHorizontally(by: 1)
        guard inner.height >= Self.infoRows else { return }
        buffer.write(ServerText.summary(server, now: context.now, glyphs: g), in: inner.row(0))
        buffer.write(
            [
                Span("states ", Style(.muted)), Span(ServerText.states(server)),
                Span("  apps ", Style(.muted)), Span(ServerText.applications(server, limit: 4)),
            ], in: inner.row(1))

        let wide = inner.width >= 120
        let columns = Layout.horizontal(
            [
                .length(1), .length(wide ? 12 : 9), .length(wide ? 10 : 0), .length(wide ? 20 : 11), .length(9),
                .length(6), .length(wide ? 28 : 15), .fill(1),
            ], spacing: 1
        ).split(Rect(x: inner.x, y: inner.y, width: inner.width, height: 1))
        func cell(_ i: Int, _ y: Int, _ text: String, _ style: Style) {
            guard columns[i].width > 0 else { return }
            buffer.write(text, x: columns[i].x, y: y, maxWidth: columns[i].width, style: style)
        }
        let headings = ["", "PID", "USER", "APP", "STATE", "AGE", "WAITING FOR", "QUERY"]
        for (i, h) in headings.enumerated() { cell(i, inner.y + 2, h, Style(.muted, .bold)) }

        let rows = inner.height - Self.infoRows
        let sessions = context.state.visibleSessions
        guard rows > 0 else { return }
        if sessions.isEmpty {
            let filter = context.state.filter(.sessions)
            buffer.write(
                filter.map { "no session matches /\($0)" } ?? "no other sessions on the server", x: inner.x + 2,
                y: inner.y + 3, maxWidth: inner.width, style: .muted)
            return
        }
        let depths = server.depths
        let roots = Set(server.chains.map(\.root))
        let selected = browser.selected
        let offset = max(0, min(selected - rows + 1, sessions.count - rows))
        for (row, i) in (offset..<min(sessions.count, offset + rows)).enumerated() {
            let session = sessions[i]
            let y = inner.y + Self.infoRows + row
            let isSelected = i == selected
            let base = isSelected ? Style(.selection) : Style(.text)
            if isSelected { buffer.fill(Rect(x: inner.x, y: y, width: inner.width, height: 1), " ", base) }
            cell(0, y, isSelected ? String(g.pointer) : "", base)
            // The tree only in the chains order (elsewhere a blocked session is not under its blocker).
            let depth = context.state.sessionSort == .chains ? depths[session.pid] ?? 0 : 0
            let tree = depth == 0 ? "" : String(repeating: " ", count: depth - 1) + "\(g.bottomLeft)"
            let isRoot = roots.contains(session.pid)
            cell(1, y, tree + "\(session.pid)", isRoot && !isSelected ? Style(.critical, .bold) : base.with(.bold))
            cell(2, y, session.user ?? "", base)
            cell(3, y, session.application ?? "", base)
            let stateStyle =
                isSelected
                ? base : session.isIdleInTransaction ? Style(.warning) : session.isBlocked ? Style(.critical) : base
            cell(4, y, ServerText.state(session), stateStyle)
            cell(5, y, ServerText.age(session).map(Format.age) ?? "", base)
            cell(
                6, y, ServerText.waiting(session),
                isSelected ? base : session.isBlocked ? Style(.critical) : Style(.muted))
            var query: [Span] = []
            if let mark = session.pool {
                query.append(
                    Span(
                        "[\(ServerText.shortMark(mark))] ",
                        isSelected ? base.with(.bold) : Style(mark.isLeak ? .critical : .accent, .bold)))
            }
            if isRoot, let chain = server.chains.first(where: { $0.root == session.pid }) {
                query.append(Span("blocks \(chain.nodes.count) · ", isSelected ? base : Style(.critical, .bold)))
            }
            query.append(Span(session.query.map(Format.oneLine) ?? "—", isSelected ? base : Style(.muted)))
            buffer.write(query, in: Rect(x: columns[7].x, y: y, width: columns[7].width, height: 1))
        }
        if offset > 0 {
            buffer.write("\(g.up)\(offset)", x: inner.maxX - 4, y: inner.y + 2, maxWidth: 4, style: .muted)
        }
        let below = sessions.count - offset - rows
        if below > 0 {
            buffer.write("\(g.down)\(below)", x: inner.maxX - 4, y: inner.maxY, maxWidth: 4, style: .muted)
        }
    }
}

/// The words the Server panel, its view, the header and the confirmation share.
enum ServerText {
    /// `42 sessions · 3 idle in txn (max 41s) · 8 blocked by pid 4242 (your leak #12)`; the read error, if any.
    static func summary(_ server: ServerOverview, now: Date, glyphs g: Glyphs) -> [Span] {
        var spans: [Span] = []
        // Who blocks whom comes first: it is what the person looking needs, and 80 columns cut the end.
        if let chain = server.chains.first {
            let blocked = server.chains.reduce(0) { $0 + $1.nodes.count }
            let mark = server.session(pid: chain.root)?.pool.map { " (\($0.label))" } ?? ""
            let more = server.chains.count > 1 ? " +\(server.chains.count - 1) more" : ""
            let style = server.alarm != nil ? Style(.critical, .bold) : Style(.warning, .bold)
            spans.append(Span("\(g.cross) \(blocked) blocked by pid \(chain.root)\(mark)\(more) · ", style))
        }
        spans.append(Span("\(server.sessionCount) sessions", Style(.text, .bold)))
        let idle = server.idleInTransaction
        if idle.count > 0 {
            let longest = idle.longest.map { " (max \(Format.age($0)))" } ?? ""
            spans.append(Span(" · \(idle.count) idle in txn\(longest)", Style(.warning)))
        }
        if server.chains.isEmpty { spans.append(Span(" · no lock waits", Style(.ok))) }
        if let error = server.error {
            spans.append(
                Span(
                    " · not read: \(Format.oneLine(error)) (as of \(Format.age(now.timeIntervalSince(server.takenAt))) ago)",
                    Style(.warning)))
        }
        return spans
    }

    /// `active 8 · idle 1 · idle in transaction 1`.
    static func states(_ server: ServerOverview) -> String {
        server.states.map { "\($0.name) \($0.count)" }.joined(separator: " · ")
    }

    /// `pgbench 8 · orders-api 2 · +3`.
    static func applications(_ server: ServerOverview, limit: Int) -> String {
        let shown = server.applications.prefix(limit).map { "\(Format.oneLine($0.name)) \($0.count)" }
        let rest = server.applications.count - limit
        return (shown + (rest > 0 ? ["+\(rest)"] : [])).joined(separator: " · ")
    }

    static func longest(_ label: String, _ session: ServerSession, age: Double?) -> [Span] {
        [
            Span("\(label) ", Style(.muted)), Span(age.map(Format.age) ?? "?", Style(.text, .bold)),
            Span(" pid \(session.pid) ", Style(.text)),
            Span(session.query.map(Format.oneLine) ?? "—", Style(.muted)),
        ]
    }

    /// `active`, `idle txn`, `idle txn!` (aborted), `idle`, `?`.
    static func state(_ session: ServerSession) -> String {
        guard let state = session.state else { return "?" }
        if state == "idle in transaction" { return "idle txn" }
        if state == "idle in transaction (aborted)" { return "idle txn!" }
        return state
    }

    /// What the AGE column shows: the wait of a blocked session, the idle time of `idle in transaction`, the
    /// statement's age while active, else the time in its state.
    static func age(_ session: ServerSession) -> Double? {
        if let blocked = session.blockedFor { return blocked }
        if session.isIdleInTransaction { return session.stateAge }
        if session.state == "active" { return session.queryAge }
        return session.stateAge
    }

    /// `leak #17`, `ours #3`, `ours idle`: the table's short form of ``PoolMark/label``.
    static func shortMark(_ mark: PoolMark) -> String {
        if mark.isLeak, let id = mark.connectionID { return "leak #\(id)" }
        if let id = mark.connectionID { return "ours #\(id)" }
        return mark.isCheckedOut ? "ours" : "ours idle"
    }

    /// `Share xid`, `RowExclusive orders`, `Exclusive pgbench_accounts`, `Client/ClientRead`, or nothing: the
    /// lock mode without its `Lock` suffix, then the table (or the lock type, `xid` for a transaction id).
    static func waiting(_ session: ServerSession) -> String {
        if let lock = session.waitingFor {
            let mode = lock.mode.hasSuffix("Lock") ? String(lock.mode.dropLast(4)) : lock.mode
            let on = lock.relation.map(Format.oneLine) ?? (lock.lockType == "transactionid" ? "xid" : lock.lockType)
            return "\(mode) \(on)"
        }
        guard let event = session.waitEvent else { return "" }
        return [session.waitEventType, event].compactMap { $0 }.joined(separator: "/")
    }

    /// `pid 4242 (user app, application orders-api, your leak #12): UPDATE t SET …` for a confirmation.
    static func describe(pid: Int32, in server: ServerOverview?) -> String {
        guard let session = server?.session(pid: pid) else { return "pid \(pid)" }
        var parts: [String] = []
        if let user = session.user { parts.append("user \(Format.oneLine(user))") }
        if let app = session.application, !app.isEmpty { parts.append("application \(Format.oneLine(app))") }
        if let mark = session.pool { parts.append(mark.label) }
        let who = parts.isEmpty ? "" : " (\(parts.joined(separator: ", ")))"
        let query = session.query.map { ": " + Text.truncate(Format.oneLine($0), to: 120) } ?? ""
        return "pid \(pid)\(who)\(query)"
    }
}
