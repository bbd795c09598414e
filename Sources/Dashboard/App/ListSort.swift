import PoolModel

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The order of the leak list (`o` cycles; `held` — the oldest first — is the default).
public enum LeakSort: String, Sendable, CaseIterable {
    case held, thread, sql

    /// How the panel title names it.
    public var label: String {
        switch self {
        case .held: return "held"
        case .thread: return "thread"
        case .sql: return "last SQL"
        }
    }

    public var next: LeakSort { Self.allCases[(Self.allCases.firstIndex(of: self)! + 1) % Self.allCases.count] }

    /// Stable: ties keep the snapshot's order (the oldest first).
    func sorted(_ leaks: [LeakReport]) -> [LeakReport] {
        let indexed = Array(leaks.enumerated())
        func key(_ leak: LeakReport) -> String {
            switch self {
            case .held: return ""
            case .thread: return leak.info.threadName.lowercased()
            // Leaks without SQL last.
            case .sql: return leak.info.lastSQL.map { "0" + Format.oneLine($0).lowercased() } ?? "1"
            }
        }
        return indexed.sorted { a, b in
            switch self {
            case .held:
                if a.element.heldFor != b.element.heldFor { return a.element.heldFor > b.element.heldFor }
            case .thread, .sql:
                let ka = key(a.element)
                let kb = key(b.element)
                if ka != kb { return ka < kb }
            }
            return a.offset < b.offset
        }.map(\.element)
    }
}

/// The order of the server view's sessions (`o` cycles; `chains` — blocking chains as a tree — is the default).
public enum SessionSort: String, Sendable, CaseIterable {
    case chains, age, state, application

    public var label: String {
        switch self {
        case .chains: return "chains"
        case .age: return "age"
        case .state: return "state"
        case .application: return "application"
        }
    }

    public var next: SessionSort { Self.allCases[(Self.allCases.firstIndex(of: self)! + 1) % Self.allCases.count] }

    /// Stable: ties keep the overview's order. Age: the oldest first (sessions without an age last); state and
    /// application: alphabetical, the oldest first within each.
    func sorted(_ sessions: [ServerSession]) -> [ServerSession] {
        guard self != .chains else { return sessions }
        let indexed = Array(sessions.enumerated())
        func text(_ s: ServerSession) -> String {
            switch self {
            case .state: return ServerText.state(s).lowercased()
            case .application: return (s.application ?? "").lowercased()
            case .chains, .age: return ""
            }
        }
        return indexed.sorted { a, b in
            let ta = text(a.element)
            let tb = text(b.element)
            if ta != tb { return ta < tb }
            let aa = ServerText.age(a.element) ?? -1
            let ab = ServerText.age(b.element) ?? -1
            if aa != ab { return aa > ab }
            return a.offset < b.offset
        }.map(\.element)
    }
}

/// ` · sort thread` in a panel title, when the order is not the default one.
enum SortTitle {
    static func spans(_ label: String?) -> [Span] {
        guard let label else { return [] }
        return [Span(" · sort ", Style(.muted)), Span(label, Style(.accent, .bold))]
    }
}
