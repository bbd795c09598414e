import Foundation
import Testing

@testable import ConnectionManager

/// Rows in, view out: chains, marks, counts, the alarm and the row mapping — no server.
@Suite("server view")
struct ServerOverviewTests {
    static let at = Date(timeIntervalSince1970: 1_700_000_000)

    static func waiting(_ pid: Int32, on blockers: [Int32], for seconds: Double, app: String = "pgbench")
        -> ServerSession
    {
        ServerSession(
            pid: pid, user: "app", application: app, state: "active", query: "UPDATE t SET v = v + 1 WHERE id = 1",
            waitEventType: "Lock", waitEvent: "transactionid", transactionAge: seconds, queryAge: seconds,
            stateAge: seconds, blockedBy: blockers,
            waitingFor: WaitingLock(lockType: "transactionid", mode: "ShareLock", waitingFor: seconds))
    }

    static let blocker = ServerSession(
        pid: 4242, user: "app", application: "orders-api", state: "idle in transaction",
        query: "UPDATE t SET v = 0 WHERE id = 1", transactionAge: 41, queryAge: 40, stateAge: 40)

    @Test("a leak holding a row lock: one chain, the leak marked, the alarm names it")
    func leakBlocksEight() {
        let waiters = (1...8).map { Self.waiting(5000 + Int32($0), on: [4242], for: Double($0) * 5) }
        let idle = ServerSession(pid: 300, user: "app", application: "orders-api", state: "idle", stateAge: 3)
        let view = ServerOverview.build(
            sessions: [idle] + waiters + [Self.blocker], takenAt: Self.at, target: "db:5432/app",
            pool: [
                4242: PoolMark(connectionID: 12, isCheckedOut: true, isLeak: true), 300: PoolMark(isCheckedOut: false),
            ],
            blockedThreshold: 5)

        #expect(view.sessionCount == 10)
        #expect(view.chains.count == 1)
        let chain = view.chains[0]
        #expect(chain.root == 4242)
        #expect(chain.nodes.map(\.pid) == (5001...5008).map { Int32($0) })
        #expect(chain.nodes.allSatisfy { $0.depth == 1 && $0.blockedBy == 4242 })
        #expect(chain.longestWait == 40)
        // The tree comes first in the table: root, then its waiters, then the rest.
        #expect(view.sessions.map(\.pid) == [4242] + (5001...5008).map { Int32($0) } + [300])
        #expect(view.session(pid: 4242)?.pool == PoolMark(connectionID: 12, isCheckedOut: true, isLeak: true))
        #expect(view.session(pid: 300)?.pool?.label == "your idle connection")
        #expect(view.session(pid: 5001)?.pool == nil)
        let alarm = try! #require(view.alarm)
        #expect(alarm.count == 8)
        #expect(alarm.longest == 40)
        #expect(alarm.blockers == [4242])
        #expect(alarm.summary == "8 sessions blocked for up to 40 s by pid 4242 (your leak #12)")
        #expect(
            view.states == [
                NameCount(name: "active", count: 8), NameCount(name: "idle", count: 1),
                NameCount(name: "idle in transaction", count: 1),
            ])
        #expect(view.applications == [NameCount(name: "pgbench", count: 8), NameCount(name: "orders-api", count: 2)])
        #expect(view.idleInTransaction.count == 1)
        #expect(view.idleInTransaction.longest == 40)
        #expect(view.longestTransactions(1).map(\.pid) == [4242])
        #expect(view.longestQueries(2).map(\.pid) == [5008, 5007])
    }

    @Test("waits shorter than the threshold are a chain but no alarm")
    func belowThreshold() {
        let view = ServerOverview.build(
            sessions: [Self.blocker, Self.waiting(7, on: [4242], for: 2)], takenAt: Self.at, target: "t",
            blockedThreshold: 5)
        #expect(view.chains.map(\.root) == [4242])
        #expect(view.alarm == nil)
        #expect(view.blockedCount == 1)
    }

    @Test("a chain two deep: the tree keeps depth, the alarm counts both, the blocker outside the rows is the root")
    func twoDeep() {
        // 10 waits on 20 (which waits on 4242, not among the rows: another database's backend type, say).
        let view = ServerOverview.build(
            sessions: [Self.waiting(10, on: [20], for: 9), Self.waiting(20, on: [4242], for: 12)], takenAt: Self.at,
            target: "t", blockedThreshold: 5)
        #expect(view.chains.count == 1)
        #expect(view.chains[0].root == 4242)
        #expect(
            view.chains[0].nodes == [
                BlockingChain.Node(pid: 20, depth: 1, blockedBy: 4242),
                BlockingChain.Node(pid: 10, depth: 2, blockedBy: 20),
            ])
        #expect(view.depths == [20: 1, 10: 2])
        #expect(view.alarm?.count == 2)
        #expect(view.alarm?.summary == "2 sessions blocked for up to 12 s by pid 4242")
        // The root is not a row: the table starts with what it knows.
        #expect(view.sessions.map(\.pid) == [20, 10])
    }

    @Test("a wait cycle still yields a chain (started at its lowest pid), each session listed once")
    func cycle() {
        let view = ServerOverview.build(
            sessions: [Self.waiting(31, on: [32], for: 1), Self.waiting(32, on: [31], for: 1)], takenAt: Self.at,
            target: "t", blockedThreshold: 5)
        #expect(view.chains.map(\.root) == [31])
        #expect(view.chains[0].nodes.map(\.pid) == [32])
        #expect(view.sessions.map(\.pid) == [31, 32])
    }

    @Test("two chains: the bigger first; the alarm lists both blockers")
    func twoChains() {
        let a = ServerSession(pid: 1, state: "idle in transaction", transactionAge: 30)
        let b = ServerSession(pid: 2, state: "active", transactionAge: 20)
        let view = ServerOverview.build(
            sessions: [
                b, a, Self.waiting(11, on: [1], for: 6), Self.waiting(21, on: [2], for: 7),
                Self.waiting(22, on: [2], for: 8),
            ],
            takenAt: Self.at, target: "t", blockedThreshold: 5)
        #expect(view.chains.map(\.root) == [2, 1])
        #expect(view.alarm?.blockers == [2, 1])
        #expect(view.alarm?.summary == "3 sessions blocked for up to 8 s by pids 2, 1")
    }

    @Test("the session limit cuts the table, never the counts")
    func limit() {
        let rows = (1...50).map { ServerSession(pid: Int32($0), application: "", state: "idle") }
        let view = ServerOverview.build(
            sessions: rows, takenAt: Self.at, target: "t", blockedThreshold: 5, sessionLimit: 10)
        #expect(view.sessions.count == 10)
        #expect(view.sessionCount == 50)
        #expect(view.applications == [NameCount(name: "(none)", count: 50)])
    }

    @Test("a text row maps to a session: ages, blockers, the lock; NULLs stay nil")
    func rowMapping() throws {
        let row: [String?] = [
            "5001", "app", "pgbench", "127.0.0.1/32", "bench", "active", "12.5", "12.25", "12.25", "Lock",
            "transactionid", "UPDATE t SET v = 1", "{4242,4243}", "transactionid", "ShareLock", nil, "12.2",
        ]
        let session = try #require(ServerOverviewQuery.session(row: row))
        #expect(session.pid == 5001)
        #expect(session.client == "127.0.0.1/32")
        #expect(session.transactionAge == 12.5)
        #expect(session.blockedBy == [4242, 4243])
        #expect(session.waitingFor == WaitingLock(lockType: "transactionid", mode: "ShareLock", waitingFor: 12.2))
        #expect(session.blockedFor == 12.2)
        var idle = row
        (12...16).forEach { idle[$0] = nil }
        idle[6] = nil
        let plain = try #require(ServerOverviewQuery.session(row: idle))
        #expect(plain.blockedBy.isEmpty && plain.waitingFor == nil && plain.transactionAge == nil)
        #expect(plain.blockedFor == nil)
        #expect(ServerOverviewQuery.session(row: Array(row.prefix(5))) == nil)
        #expect(ServerOverviewQuery.session(row: [nil] + row.dropFirst()) == nil)
        #expect(ServerOverviewQuery.pids("{}") == [])
        #expect(ServerOverviewQuery.pids("garbage") == [])
    }

    @Test("the JSON round-trips, and a view without the new keys still decodes")
    func json() throws {
        let view = ServerOverview.build(
            sessions: [Self.blocker, Self.waiting(7, on: [4242], for: 9)], takenAt: Self.at, target: "t",
            pool: [4242: PoolMark(connectionID: 3, isCheckedOut: true, isLeak: true)], blockedThreshold: 5)
        let data = try ControlJSON.encoder().encode(view)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""blocked_by":[4242]"#), note(text))
        #expect(text.contains(#""mode":"ShareLock""#), note(text))
        #expect(try ControlJSON.decoder().decode(ServerOverview.self, from: data) == view)
        let minimal = #"{"taken_at":"2023-11-14T22:13:20.000Z","sessions":[{"pid":1}]}"#
        let decoded = try ControlJSON.decoder().decode(ServerOverview.self, from: Data(minimal.utf8))
        #expect(decoded.sessions == [ServerSession(pid: 1)])
        #expect(decoded.sessionCount == 1)
    }
}
