#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The server's view of the current target, read once per scan on the manager's probe connection: who is
/// connected, doing what, for how long, and who blocks whom.
///
/// A pure value: ``build(sessions:takenAt:target:pool:blockedThreshold:sessionLimit:)`` turns rows into counts,
/// blocking chains and the blocked-sessions alarm; the manager only does the I/O (``ServerOverviewQuery``).
public struct ServerOverview: Sendable, Equatable, Codable {
    /// When the rows were read (this process's clock).
    public var takenAt: Date
    /// The server they were read from (masked URL).
    public var target: String
    /// Client sessions on the server, the reader's own excluded (may exceed `sessions.count`).
    public var sessionCount: Int
    /// Sessions in display order: each blocking chain in tree order (root, then who waits on it), then the rest,
    /// busiest and oldest first; at most `sessionLimit` of them.
    public var sessions: [ServerSession]
    /// Sessions per `state` (`active`, `idle`, …; `unknown` for rows without one), most first.
    public var states: [NameCount]
    /// Sessions per `application_name` (`(none)` when empty), most first.
    public var applications: [NameCount]
    /// Blocking chains, the one blocking most sessions first.
    public var chains: [BlockingChain]
    /// A blocked session counts in ``alarm`` once it waited this long (seconds; `DB_BLOCKED_THRESHOLD`).
    public var blockedThreshold: Double
    /// Sessions blocked longer than `blockedThreshold`, or `nil` when none are.
    public var alarm: BlockedAlarm?
    /// Why the last read failed (the rest is then from `takenAt`, the last read that worked); `nil` when it worked.
    public var error: String?

    public init(
        takenAt: Date, target: String, sessionCount: Int = 0, sessions: [ServerSession] = [],
        states: [NameCount] = [], applications: [NameCount] = [], chains: [BlockingChain] = [],
        blockedThreshold: Double = 5, alarm: BlockedAlarm? = nil, error: String? = nil
    ) {
        self.takenAt = takenAt
        self.target = target
        self.sessionCount = sessionCount
        self.sessions = sessions
        self.states = states
        self.applications = applications
        self.chains = chains
        self.blockedThreshold = blockedThreshold
        self.alarm = alarm
        self.error = error
    }

    /// How many sessions are shown at most (the snapshot goes over the control socket once per poll).
    public static let defaultSessionLimit = 200

    /// The view of `rows` (as ``ServerOverviewQuery`` maps them), with the watched pool's connections marked.
    /// - Parameters:
    ///   - pool: the pool's own backends by pid (checked out ones with their connection id and leak flag).
    ///   - blockedThreshold: seconds a session may wait for a lock before it counts in the alarm.
    public static func build(
        sessions rows: [ServerSession], takenAt: Date, target: String, pool: [Int32: PoolMark] = [:],
        blockedThreshold: Double, sessionLimit: Int = defaultSessionLimit
    ) -> ServerOverview {
        var byPID: [Int32: ServerSession] = [:]
        for var row in rows where byPID[row.pid] == nil {
            row.pool = pool[row.pid]
            byPID[row.pid] = row
        }
        let all = rows.compactMap { byPID[$0.pid] }.uniqued(by: \.pid)
        let chains = Self.chains(all, byPID: byPID)
        // Chain members first, in tree order, so the table can draw the tree from the order alone.
        var ordered: [ServerSession] = []
        var placed = Set<Int32>()
        for chain in chains {
            for pid in [chain.root] + chain.nodes.map(\.pid) where placed.insert(pid).inserted {
                if let session = byPID[pid] { ordered.append(session) }
            }
        }
        let rest = all.filter { !placed.contains($0.pid) }.sorted(by: Self.busierFirst)
        ordered += rest
        return ServerOverview(
            takenAt: takenAt, target: target, sessionCount: all.count, sessions: Array(ordered.prefix(sessionLimit)),
            states: Self.counts(all.map { $0.state ?? "unknown" }),
            applications: Self.counts(all.map { ($0.application ?? "").isEmpty ? "(none)" : $0.application! }),
            chains: chains, blockedThreshold: blockedThreshold,
            alarm: Self.alarm(all, chains: chains, byPID: byPID, threshold: blockedThreshold))
    }

    // MARK: What the screen and the status say

    /// Sessions sitting `idle in transaction`, and the longest such wait (seconds), from all rows shown.
    public var idleInTransaction: (count: Int, longest: Double?) {
        let idle = sessions.filter(\.isIdleInTransaction)
        return (idle.count, idle.compactMap(\.stateAge).max())
    }

    /// Blocked sessions shown (any wait, threshold or not).
    public var blockedCount: Int { sessions.filter(\.isBlocked).count }

    /// Active sessions by how long their statement runs, longest first.
    public func longestQueries(_ limit: Int = 5) -> [ServerSession] {
        Array(
            sessions.filter { $0.state == "active" && $0.queryAge != nil }
                .sorted { ($0.queryAge ?? 0) > ($1.queryAge ?? 0) }.prefix(limit))
    }

    /// Sessions in a transaction by its age, longest first.
    public func longestTransactions(_ limit: Int = 5) -> [ServerSession] {
        Array(
            sessions.filter { $0.transactionAge != nil }
                .sorted { ($0.transactionAge ?? 0) > ($1.transactionAge ?? 0) }.prefix(limit))
    }

    /// The session with this pid, when shown.
    public func session(pid: Int32) -> ServerSession? {
        sessions.first { $0.pid == pid }
    }

    /// How deep each shown session sits in its blocking chain (0: a root blocker or not in a chain).
    public var depths: [Int32: Int] {
        var depths: [Int32: Int] = [:]
        for chain in chains {
            for node in chain.nodes where depths[node.pid] == nil { depths[node.pid] = node.depth }
        }
        return depths
    }

    // MARK: Building

    /// Roots are blockers that wait for nobody (or sit in a wait cycle, which the server ends as a deadlock);
    /// each blocked session is listed once, under the first of its blockers reached.
    static func chains(_ sessions: [ServerSession], byPID: [Int32: ServerSession]) -> [BlockingChain] {
        var children: [Int32: [Int32]] = [:]
        for session in sessions {
            for blocker in session.blockedBy { children[blocker, default: []].append(session.pid) }
        }
        guard !children.isEmpty else { return [] }
        let blockers = Set(children.keys)
        var roots = blockers.filter { (byPID[$0]?.blockedBy ?? []).isEmpty }
        var chains: [BlockingChain] = []
        var seen = Set<Int32>()
        func walk(_ root: Int32) -> BlockingChain {
            var nodes: [BlockingChain.Node] = []
            func visit(_ pid: Int32, depth: Int) {
                for child in (children[pid] ?? []).sorted() where !seen.contains(child) {
                    seen.insert(child)
                    nodes.append(BlockingChain.Node(pid: child, depth: depth, blockedBy: pid))
                    visit(child, depth: depth + 1)
                }
            }
            seen.insert(root)
            visit(root, depth: 1)
            let longest = nodes.compactMap { byPID[$0.pid]?.blockedFor }.max() ?? 0
            return BlockingChain(root: root, nodes: nodes, longestWait: longest)
        }
        for root in roots.sorted() { chains.append(walk(root)) }
        // Whatever is left waits in a cycle: start at its lowest pid.
        while let next = blockers.subtracting(seen).min() {
            roots.insert(next)
            chains.append(walk(next))
        }
        return chains.filter { !$0.nodes.isEmpty }.sorted {
            ($0.nodes.count, $0.longestWait, -Int($0.root)) > ($1.nodes.count, $1.longestWait, -Int($1.root))
        }
    }

    static func alarm(
        _ sessions: [ServerSession], chains: [BlockingChain], byPID: [Int32: ServerSession], threshold: Double
    ) -> BlockedAlarm? {
        let over = sessions.filter { ($0.blockedFor ?? -1) >= threshold }
        guard !over.isEmpty else { return nil }
        let overPIDs = Set(over.map(\.pid))
        // The root blockers whose chains hold the sessions over the threshold, the one holding most first.
        let roots = chains.map { chain in (chain, chain.nodes.filter { overPIDs.contains($0.pid) }.count) }
            .filter { $0.1 > 0 }.sorted { $0.1 > $1.1 }.map(\.0.root)
        return BlockedAlarm(
            count: over.count, longest: over.compactMap(\.blockedFor).max() ?? threshold, threshold: threshold,
            blockers: roots, mainBlocker: roots.first.flatMap { byPID[$0]?.pool?.label })
    }

    /// Not idle before idle; then the oldest transaction (or statement) first; pid breaks ties.
    static func busierFirst(_ a: ServerSession, _ b: ServerSession) -> Bool {
        let aIdle = a.state == "idle" || a.state == nil
        let bIdle = b.state == "idle" || b.state == nil
        if aIdle != bIdle { return !aIdle }
        let aAge = a.transactionAge ?? a.queryAge ?? -1
        let bAge = b.transactionAge ?? b.queryAge ?? -1
        if aAge != bAge { return aAge > bAge }
        return a.pid < b.pid
    }

    static func counts(_ names: [String]) -> [NameCount] {
        var counts: [String: Int] = [:]
        for name in names { counts[name, default: 0] += 1 }
        return counts.map { NameCount(name: $0.key, count: $0.value) }.sorted {
            $0.count != $1.count ? $0.count > $1.count : $0.name < $1.name
        }
    }

    enum CodingKeys: String, CodingKey {
        case target, sessions, states, applications, chains, alarm, error
        case takenAt = "taken_at"
        case sessionCount = "session_count"
        case blockedThreshold = "blocked_threshold"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        takenAt = try c.decode(Date.self, forKey: .takenAt)
        target = try c.decodeIfPresent(String.self, forKey: .target) ?? ""
        sessions = try c.decodeIfPresent([ServerSession].self, forKey: .sessions) ?? []
        sessionCount = try c.decodeIfPresent(Int.self, forKey: .sessionCount) ?? sessions.count
        states = try c.decodeIfPresent([NameCount].self, forKey: .states) ?? []
        applications = try c.decodeIfPresent([NameCount].self, forKey: .applications) ?? []
        chains = try c.decodeIfPresent([BlockingChain].self, forKey: .chains) ?? []
        blockedThreshold = try c.decodeIfPresent(Double.self, forKey: .blockedThreshold) ?? 5
        alarm = try c.decodeIfPresent(BlockedAlarm.self, forKey: .alarm)
        error = try c.decodeIfPresent(String.self, forKey: .error)
    }
}

/// A name and how many sessions carry it.
public struct NameCount: Sendable, Equatable, Codable {
    public var name: String
    public var count: Int

    public init(name: String, count: Int) {
        self.name = name
        self.count = count
    }
}

/// One blocker at the root and every session waiting on it, directly or behind another waiter.
public struct BlockingChain: Sendable, Equatable, Codable {
    /// A session in the chain: who it waits on directly, and how far from the root (1 = waits on the root).
    public struct Node: Sendable, Equatable, Codable {
        public var pid: Int32
        public var depth: Int
        public var blockedBy: Int32

        public init(pid: Int32, depth: Int, blockedBy: Int32) {
            self.pid = pid
            self.depth = depth
            self.blockedBy = blockedBy
        }

        enum CodingKeys: String, CodingKey {
            case pid, depth
            case blockedBy = "blocked_by"
        }
    }

    /// The blocker that waits for nobody.
    public var root: Int32
    /// The sessions behind it, in tree order (depth first).
    public var nodes: [Node]
    /// The longest any of them has waited (seconds).
    public var longestWait: Double

    public init(root: Int32, nodes: [Node], longestWait: Double) {
        self.root = root
        self.nodes = nodes
        self.longestWait = longestWait
    }

    enum CodingKeys: String, CodingKey {
        case root, nodes
        case longestWait = "longest_wait"
    }
}

/// Sessions stuck behind a lock longer than the threshold: what makes `pooltop status` exit 1.
public struct BlockedAlarm: Sendable, Equatable, Codable {
    /// Sessions blocked at least `threshold` seconds.
    public var count: Int
    /// The longest of their waits (seconds).
    public var longest: Double
    public var threshold: Double
    /// The root blockers of their chains, the one blocking most first.
    public var blockers: [Int32]
    /// How the first blocker is named when it is the watched pool's (`your leak #12`).
    public var mainBlocker: String?

    public init(count: Int, longest: Double, threshold: Double, blockers: [Int32], mainBlocker: String? = nil) {
        self.count = count
        self.longest = longest
        self.threshold = threshold
        self.blockers = blockers
        self.mainBlocker = mainBlocker
    }

    /// `8 sessions blocked for up to 41 s by pid 4242 (your leak #12)`.
    public var summary: String {
        let who: String
        switch blockers.count {
        case 0: who = ""
        case 1: who = " by pid \(blockers[0])"
        default:
            who =
                " by pids " + blockers.prefix(3).map(String.init).joined(separator: ", ")
                + (blockers.count > 3 ? "…" : "")
        }
        let mark = mainBlocker.map { " (\($0))" } ?? ""
        return "\(count) session\(count == 1 ? "" : "s") blocked for up to \(Int(longest)) s\(who)\(mark)"
    }

    enum CodingKeys: String, CodingKey {
        case count, longest, threshold, blockers
        case mainBlocker = "main_blocker"
    }
}

extension Array {
    fileprivate func uniqued<Key: Hashable>(by key: (Element) -> Key) -> [Element] {
        var seen = Set<Key>()
        return filter { seen.insert(key($0)).inserted }
    }
}
