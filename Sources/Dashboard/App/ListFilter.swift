import PoolModel

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A list that `/` filters (and, for leaks and sessions, `o` sorts).
public enum ListKind: String, Sendable, CaseIterable, Hashable {
    case leaks, events, sessions

    /// How the list is named in the input line and in messages.
    public var title: String {
        switch self {
        case .leaks: return "leaks"
        case .events: return "events"
        case .sessions: return "sessions"
        }
    }
}

/// Case-insensitive substring match over the columns a list shows.
public enum ListFilter {
    /// The longest filter kept (typed text beyond it is ignored).
    public static let maximumLength = 200

    public static func matches(_ columns: [String], _ filter: String?) -> Bool {
        guard let filter, !filter.isEmpty else { return true }
        let folded = filter.lowercased()
        return columns.contains { $0.lowercased().contains(folded) }
    }

    /// What the Leaks panel shows of a leak: ID, held time, thread, pid, server state, last SQL.
    static func columns(_ leak: LeakReport) -> [String] {
        [
            "#\(leak.info.connectionID)", Format.age(leak.heldFor), leak.info.threadName, "\(leak.info.backendPID)",
            leak.server?.state ?? "?", leak.info.lastSQL.map(Format.oneLine) ?? "—",
        ]
    }

    /// What the Leaks panel shows of a returned leak.
    static func columns(_ returned: ReturnedLeak) -> [String] {
        ["#\(returned.info.connectionID)", returned.info.threadName, returned.info.lastSQL.map(Format.oneLine) ?? ""]
    }

    /// What the Events panel shows of a row: its time and its message.
    static func columns(_ group: EventGroup, _ zone: ClockZone) -> [String] {
        [Format.clock(group.newest.at, zone), Format.oneLine(group.newest.message)]
    }

    /// What the server view shows of a session: pid, user, application, state, age, lock wait, mark, query.
    static func columns(_ session: ServerSession) -> [String] {
        [
            "\(session.pid)", session.user ?? "", session.application ?? "", ServerText.state(session),
            ServerText.age(session).map(Format.age) ?? "", ServerText.waiting(session),
            session.pool.map(ServerText.shortMark) ?? "", session.query.map(Format.oneLine) ?? "",
        ]
    }
}

extension DashboardState {
    /// The filter of a list: kept, or being typed.
    public func filter(_ list: ListKind) -> String? {
        guard let text = filters[list], !text.isEmpty else { return nil }
        return text
    }

    /// The leaks the Leaks panel lists (filtered); `selectedLeak` indexes this.
    public var visibleLeaks: [LeakReport] {
        let f = filter(.leaks)
        return leakSort.sorted((snapshot?.leaks ?? []).filter { ListFilter.matches(ListFilter.columns($0), f) })
    }

    /// The returned leaks the Leaks panel lists under the held ones (filtered).
    public var visibleReturnedLeaks: [ReturnedLeak] {
        let f = filter(.leaks)
        return (snapshot?.returnedLeaks ?? []).filter { ListFilter.matches(ListFilter.columns($0), f) }
    }

    /// The sessions the server view lists (filtered, sorted); `ServerBrowser.selected` indexes this.
    public var visibleSessions: [ServerSession] {
        let f = filter(.sessions)
        return sessionSort.sorted(
            (snapshot?.server?.sessions ?? []).filter { ListFilter.matches(ListFilter.columns($0), f) })
    }

    /// The list `/` filters right now: the server view's sessions, else the focused panel's list.
    var filterableList: ListKind? {
        switch mode {
        case .serverView: return .sessions
        case .main:
            switch focus {
            case .leaks: return .leaks
            case .events: return .events
            case .server, .failover: return nil
            }
        default: return nil
        }
    }
}

/// The spans a panel title gets for a filter: ` · /text` (while typing, a cursor after it).
enum FilterTitle {
    static func spans(_ state: DashboardState, _ list: ListKind) -> [Span] {
        let editing = state.filterEditing == list
        guard editing || state.filter(list) != nil else { return [] }
        let text = state.filters[list] ?? ""
        return [Span(" · /", Style(.muted)), Span(text + (editing ? "_" : ""), Style(.accent, .bold))]
    }
}

/// The one-line input at the bottom while a filter is typed (over the footer).
struct FilterInputLine {
    var state: DashboardState

    func render(in area: Rect, into buffer: inout Buffer) {
        guard let list = state.filterEditing else { return }
        buffer.fill(area, " ", Style(.header))
        let text = state.filters[list] ?? ""
        let hint = "  Enter keep · Esc clear"
        let label = " filter \(list.title): /"
        let room = max(1, area.width - Text.width(of: label) - Text.width(of: hint) - 1)
        // The end of a long filter stays visible: that is where typing happens.
        var shown = text
        while Text.width(of: shown) > room - 1, !shown.isEmpty { shown.removeFirst() }
        buffer.write(
            [
                Span(label, Style(.header, .bold)), Span(shown, Style(.accent, .bold)),
                Span("_", Style(.accent, [.bold, .reverse])), Span(hint, Style(.header)),
            ], in: area)
    }
}
