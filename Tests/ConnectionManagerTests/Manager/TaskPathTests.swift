import Foundation
import LocalCluster
import Synchronization
import Testing

@testable import ConnectionManager

/// The async API from tasks on a real server: statements in flight concurrently, cancellation (waiting, mid
/// statement, after the hand-over), deadlines and shutdown, with the pool's counts consistent afterwards.
@Suite("Task path")
struct TaskPathTests {
    /// Polls `condition` every 5 ms (suspending, not blocking) until it holds or `timeout` passes. Generous: in the
    /// full suite, blocking tests running in parallel can hold the two cooperative threads for seconds.
    static func eventually(timeout: Duration = .seconds(60), _ condition: () throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            if try condition() { return true }
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The pool's books balance: nothing out, everything open is idle, and the server sees exactly that many.
    static func expectSettled(
        _ manager: ConnectionManager, _ server: ServerView, app: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let m = manager.metrics()
        #expect(m.checkedOut == 0 && m.waiting == 0, sourceLocation: sourceLocation)
        #expect(m.totalCheckouts == m.totalCheckins, sourceLocation: sourceLocation)
        #expect(m.connectionsCreated - m.connectionsClosed == m.checkedIn, sourceLocation: sourceLocation)
        #expect(
            try server.settledBackendCount(applicationName: app, expected: m.checkedIn) == m.checkedIn,
            sourceLocation: sourceLocation)
    }

    /// Backends of `app` waiting for a lock (their statement is in flight on the server).
    static func lockWaiters(_ server: ServerView, app: String) throws -> Int {
        try server.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
            [.text(app)])[row: 0].int(0) ?? -1
    }

    /// A task (preferring `executor`, if given) running `SELECT pg_sleep(60)` on the pool's connection `pid`,
    /// returned once the server shows the statement active; its value is the error it ended with, if any.
    static func sleeperRunning(
        _ manager: ConnectionManager, _ server: ServerView, pid: Int32, on executor: (any TaskExecutor)? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Task<(any Error)?, Never> {
        let task = Task(executorPreference: executor) { () -> (any Error)? in
            do {
                try await manager.withConnection { connection in
                    _ = try await connection.execute("SELECT pg_sleep(60)")
                }
                return nil
            } catch {
                return error
            }
        }
        let running = try await Self.eventually {
            try server.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND query LIKE 'SELECT pg_sleep%' "
                    + "AND state = 'active'", [.int(Int(pid))])[row: 0].int(0) == 1
        }
        #expect(running, sourceLocation: sourceLocation)
        return task
    }

    // Before statements ran on their connection's own thread, the six blocked the cooperative pool (two threads
    // here) and this test could not even poll: the time limit turns that hang into a failure.
    @Test(.timeLimit(.minutes(2))) func tasksRunTheirStatementsConcurrentlyOnDistinctConnections() async throws {
        // No prefill (the library default): every connection is opened for a waiting task.
        let app = ManagerTests.applicationName("task-concurrent")
        let cluster = try ManagerTests.sharedCluster()
        let manager = try ManagerTests.manager("task-concurrent") {
            $0.applicationName = app
            $0.poolSize = 6
            $0.maxOverflow = 0
            $0.poolTimeout = .seconds(60)
        }
        defer { manager.shutdown() }
        let server = try ServerView(cluster.primary.url)
        // Every task's statement waits for this lock, so it stays in flight until the test lets go.
        try server.execute("SELECT pg_advisory_lock(4242)")
        let tasks = 6
        let pids = Task {
            try await withThrowingTaskGroup(of: Int32.self) { group in
                for _ in 0..<tasks {
                    group.addTask {
                        try await manager.withConnection { connection in
                            try await connection.execute("SELECT pg_advisory_xact_lock_shared(4242)")
                            return connection.backendPID
                        }
                    }
                }
                var all: [Int32] = []
                for try await pid in group { all.append(pid) }
                return all
            }
        }
        // All six statements are on the server at once: none waits for another to finish.
        let allInFlight = try await Self.eventually { try Self.lockWaiters(server, app: app) == tasks }
        let inFlight = try Self.lockWaiters(server, app: app)
        #expect(allInFlight, "only \(inFlight) of \(tasks) statements were in flight")
        try server.execute("SELECT pg_advisory_unlock(4242)")
        let seen = try await pids.value
        #expect(Set(seen).count == tasks)
        let m = manager.metrics()
        #expect(m.connectionsCreated == tasks && m.timeouts == 0)
        try Self.expectSettled(manager, server, app: app)
    }

    @Test func cancellingATaskMidStatementCancelsTheQueryAndKeepsTheConnection() async throws {
        let app = ManagerTests.applicationName("task-cancel-mid")
        let cluster = try ManagerTests.sharedCluster()
        let manager = try ManagerTests.manager("task-cancel-mid") {
            $0.applicationName = app
            $0.poolSize = 1
            $0.maxOverflow = 0
            $0.poolTimeout = .seconds(60)
        }
        defer { manager.shutdown() }
        let server = try ServerView(cluster.primary.url)
        let pid = try manager.withConnection { $0.backendPID }
        let task = try await Self.sleeperRunning(manager, server, pid: pid)
        task.cancel()
        let error = await task.value
        #expect(error is CancellationError, "got \(String(describing: error))")
        // The same backend, idle and usable: the query was cancelled, not the connection.
        let after = try await manager.withConnection { connection in
            (connection.backendPID, try await connection.execute("SELECT 7")[row: 0].int(0))
        }
        #expect(after.0 == pid && after.1 == 7)
        #expect(manager.metrics().connectionsClosed == 0)
        try Self.expectSettled(manager, server, app: app)
    }

    /// Whether this code runs on the reactor's thread (the manager's task executor).
    static func isOnTheReactorThread() -> Bool {
        Thread.current.name == SocketReactor.threadName
    }

    /// Tasks that prefer `manager.taskExecutor` run on the reactor's thread, before and after their statements'
    /// replies, and the task path's results and books are the same as on the global executor.
    @Test(.timeLimit(.minutes(2))) func tasksOnTheManagersExecutorRunThereAndGetTheirResults() async throws {
        let app = ManagerTests.applicationName("task-executor")
        let cluster = try ManagerTests.sharedCluster()
        let manager = try ManagerTests.manager("task-executor") {
            $0.applicationName = app
            $0.poolSize = 3
            $0.maxOverflow = 0
            $0.poolTimeout = .seconds(60)
        }
        defer { manager.shutdown() }
        let server = try ServerView(cluster.primary.url)
        let outcomes = try await withThrowingTaskGroup(of: (sum: Int, offTheReactor: [String]).self) { group in
            for worker in 0..<12 {
                group.addTask(executorPreference: manager.taskExecutor) {
                    var sum = 0
                    // Where a step ran off the reactor's thread, and on which thread: a failure names them.
                    var off: [String] = []
                    func look(_ moment: String) {
                        if !Self.isOnTheReactorThread() { off.append("\(moment) on \(Thread.current.name ?? "?")") }
                    }
                    look("worker \(worker) start")
                    for step in 0..<20 {
                        sum += try await manager.withConnection { connection async throws in
                            look("worker \(worker) step \(step) checked out")
                            let value = try await connection.execute("SELECT $1::int", [.int(worker * 100 + step)])
                            look("worker \(worker) step \(step) replied")
                            return try value[row: 0].int(0) ?? -1
                        }
                    }
                    return (sum - (worker * 100 * 20 + 190), off)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.count == 12)
        #expect(outcomes.allSatisfy { $0.sum == 0 }, "\(outcomes)")
        // What the library decides: a task that starts on the reactor's thread stays there through its checkouts,
        // statements and checkins. Where a child task starts is the runtime's: in CI runs (3 of 5 on 2026-12-04)
        // one child of the 12, or all of them, started and then ran throughout on a default-QoS global thread
        // (`worker 2 start on …root.default-qos`), before any library code ran in it. Not reproduced locally; kept
        // visible as a known, intermittent issue until it is understood.
        let startedThere = outcomes.filter { !($0.offTheReactor.first?.contains(" start on ") ?? false) }
        #expect(startedThere.allSatisfy { $0.offTheReactor.isEmpty }, "\(outcomes.flatMap(\.offTheReactor))")
        withKnownIssue(
            "a child task created with executorPreference started on the global executor", isIntermittent: true
        ) {
            #expect(startedThere.count == outcomes.count, "\(outcomes.flatMap(\.offTheReactor).prefix(3))")
        }
        #expect(manager.metrics().totalCheckouts >= 240)
        try Self.expectSettled(manager, server, app: app)
    }

    /// On the manager's executor too, a cancelled statement is cancelled on the server (the connection stays), and
    /// a checkout that finds the pool exhausted times out at its deadline — the reactor's thread runs the task and
    /// waits for sockets and timers in between.
    @Test(.timeLimit(.minutes(2))) func theManagersExecutorKeepsCancellationAndDeadlines() async throws {
        let app = ManagerTests.applicationName("task-executor-cancel")
        let cluster = try ManagerTests.sharedCluster()
        let manager = try ManagerTests.manager("task-executor-cancel") {
            $0.applicationName = app
            $0.poolSize = 1
            $0.maxOverflow = 0
            $0.poolTimeout = .milliseconds(300)
        }
        defer { manager.shutdown() }
        let server = try ServerView(cluster.primary.url)
        let pid = try manager.withConnection { $0.backendPID }
        let sleeper = try await Self.sleeperRunning(manager, server, pid: pid, on: manager.taskExecutor)
        // The pool's one connection is out: a second task on the executor waits, and times out.
        let waiter = Task(executorPreference: manager.taskExecutor) { () -> (any Error)? in
            do {
                try await manager.withConnection { _ async in }
                return nil
            } catch {
                return error
            }
        }
        let waitError = await waiter.value
        guard case PoolError.timedOut? = waitError else {
            Issue.record("expected .timedOut, got \(String(describing: waitError))")
            return
        }
        sleeper.cancel()
        let error = await sleeper.value
        #expect(error is CancellationError, "got \(String(describing: error))")
        let after = try await Task(executorPreference: manager.taskExecutor) {
            try await manager.withConnection { connection in
                (connection.backendPID, try await connection.execute("SELECT 7")[row: 0].int(0))
            }
        }.value
        #expect(after.0 == pid && after.1 == 7)
        #expect(manager.metrics().connectionsClosed == 0 && manager.metrics().timeouts == 1)
        try Self.expectSettled(manager, server, app: app)
    }

    @Test func aTaskCancelledBeforeItsStatementSkipsItAndGivesTheConnectionBack() async throws {
        let app = ManagerTests.applicationName("task-cancel-handed")
        let cluster = try ManagerTests.sharedCluster()
        let manager = try ManagerTests.manager("task-cancel-handed") {
            $0.applicationName = app
            $0.poolSize = 1
            $0.maxOverflow = 0
            $0.poolTimeout = .seconds(60)
        }
        defer { manager.shutdown() }
        let server = try ServerView(cluster.primary.url)
        let table = "task_cancel_\(UInt32.random(in: 0...UInt32.max))"
        try server.execute("CREATE TABLE \(table) (n int)")
        defer { _ = try? server.execute("DROP TABLE \(table)") }
        let handed = Locked(false)
        let task = Task { () -> (any Error)? in
            do {
                try await manager.withConnection { connection in
                    handed.set(true)
                    // Cancelled while it holds the connection, before the statement is sent.
                    while !Task.isCancelled { await Task.yield() }
                    _ = try await connection.execute("INSERT INTO \(table) VALUES (1)")
                }
                return nil
            } catch {
                return error
            }
        }
        #expect(await Self.eventually { handed.value })
        task.cancel()
        let error = await task.value
        #expect(error is CancellationError, "got \(String(describing: error))")
        #expect(try server.execute("SELECT count(*) FROM \(table)")[row: 0].int(0) == 0)
        #expect(manager.metrics().checkedIn == 1 && manager.metrics().connectionsClosed == 0)
        try Self.expectSettled(manager, server, app: app)
    }

    @Test func cancellationRacingTheHandOverNeverLosesAConnection() async throws {
        let app = ManagerTests.applicationName("task-cancel-race")
        let cluster = try ManagerTests.sharedCluster()
        let manager = try ManagerTests.manager("task-cancel-race") {
            $0.applicationName = app
            $0.poolSize = 2
            $0.maxOverflow = 0
            $0.poolTimeout = .seconds(60)
        }
        defer { manager.shutdown() }
        let server = try ServerView(cluster.primary.url)
        var served = 0
        var cancelled = 0
        for round in 0..<40 {
            // Both connections held by tasks that give them back as the waiters are cancelled.
            let release = Locked(false)
            let holders = (0..<2).map { _ in
                Task {
                    try await manager.withConnection { connection in
                        while !release.value { await Task.yield() }
                        _ = try await connection.execute("SELECT 1")
                    }
                }
            }
            #expect(await Self.eventually { manager.metrics().checkedOut == 2 })
            let waiters = (0..<4).map { _ in
                Task { () -> Bool in
                    do {
                        return try await manager.withConnection { connection in
                            try await connection.execute("SELECT 1")[row: 0].int(0) == 1
                        }
                    } catch is CancellationError {
                        return false
                    } catch PoolError.cancelled {
                        return false
                    }
                }
            }
            #expect(await Self.eventually { manager.metrics().waiting >= 1 })
            release.set(true)
            for (index, waiter) in waiters.enumerated() where (index + round) % 2 == 0 { waiter.cancel() }
            for holder in holders { try await holder.value }
            for waiter in waiters {
                if try await waiter.value { served += 1 } else { cancelled += 1 }
            }
        }
        #expect(served + cancelled == 160 && served >= 80)
        #expect(manager.metrics().connectionsClosed == 0)
        try Self.expectSettled(manager, server, app: app)
    }

    @Test func aWaitingTaskTimesOut() async throws {
        let app = ManagerTests.applicationName("task-wait-timeout")
        let cluster = try ManagerTests.sharedCluster()
        let manager = try ManagerTests.manager("task-wait-timeout") {
            $0.applicationName = app
            $0.poolSize = 1
            $0.maxOverflow = 0
            $0.poolTimeout = .milliseconds(200)
        }
        defer { manager.shutdown() }
        let server = try ServerView(cluster.primary.url)
        let held = try manager.checkOut()
        do {
            try await manager.withConnection { _ async in }
            Issue.record("expected a timeout")
        } catch PoolError.timedOut(_, let metrics) {
            #expect(metrics.checkedOut == 1)
        }
        #expect(manager.metrics().waiting == 0 && manager.metrics().timeouts == 1)
        held.close()
        try Self.expectSettled(manager, server, app: app)
    }

    /// The pool timeout is long here: with a short one the waiter could time out before the test saw it wait (the
    /// full parallel suite can keep a new task from starting for longer than that), and the cancel would test nothing.
    @Test func aTaskCancelledWhileWaitingLeavesTheQueue() async throws {
        let app = ManagerTests.applicationName("task-wait-cancel")
        let cluster = try ManagerTests.sharedCluster()
        let manager = try ManagerTests.manager("task-wait-cancel") {
            $0.applicationName = app
            $0.poolSize = 1
            $0.maxOverflow = 0
            $0.poolTimeout = .seconds(60)
        }
        defer { manager.shutdown() }
        let server = try ServerView(cluster.primary.url)
        let held = try manager.checkOut()
        let waiter = Task { () -> (any Error)? in
            do {
                try await manager.withConnection { _ async in }
                return nil
            } catch {
                return error
            }
        }
        #expect(await Self.eventually { manager.metrics().waiting == 1 })
        waiter.cancel()
        let error = await waiter.value
        guard case PoolError.cancelled? = error else {
            Issue.record("expected .cancelled, got \(String(describing: error))")
            return
        }
        #expect(manager.metrics().waiting == 0 && manager.metrics().timeouts == 0)
        held.close()
        try Self.expectSettled(manager, server, app: app)
    }

    @Test func aStatementTimeoutFromATaskCancelsTheQueryAndTheConnectionStaysUsable() async throws {
        let manager = try ManagerTests.manager("task-timeout") {
            $0.poolSize = 1
            $0.maxOverflow = 0
            $0.poolTimeout = .seconds(60)
        }
        defer { manager.shutdown() }
        let (pid, error) =
            await
            (try? manager.withConnection { connection -> (Int32, PostgresError?) in
                do {
                    _ = try await connection.execute("SELECT pg_sleep(30)", timeout: .milliseconds(100))
                    return (connection.backendPID, nil)
                } catch let error as PostgresError {
                    return (connection.backendPID, error)
                }
            }) ?? (0, nil)
        guard case .queryTimedOut? = error else {
            Issue.record("expected .queryTimedOut, got \(String(describing: error))")
            return
        }
        let after = try await manager.withConnection { connection in
            (connection.backendPID, try await connection.execute("SELECT 1")[row: 0].int(0))
        }
        #expect(after.0 == pid && after.1 == 1)
    }

    @Test func shutdownFailsTheWaitingTasks() async throws {
        let manager = try ManagerTests.manager("task-shutdown") {
            $0.poolSize = 1
            $0.maxOverflow = 0
            $0.poolTimeout = .seconds(60)
        }
        let held = try manager.checkOut()
        let waiters = (0..<3).map { _ in
            Task { () -> (any Error)? in
                do {
                    try await manager.withConnection { _ async in }
                    return nil
                } catch {
                    return error
                }
            }
        }
        #expect(await Self.eventually { manager.metrics().waiting == 3 })
        manager.shutdown()
        for waiter in waiters {
            let error = await waiter.value
            guard case PoolError.shutDown? = error else {
                Issue.record("expected .shutDown, got \(String(describing: error))")
                continue
            }
        }
        held.close()
        let m = manager.metrics()
        #expect(m.checkedOut == 0 && m.waiting == 0 && m.connectionsCreated == m.connectionsClosed)
    }

    // Tasks sharing one connection (child tasks of its holder) take turns on it: never two statements on one libpq
    // connection at once (they take turns: `StatementTurn`). Each statement sleeps, so two at once
    // would overlap (libpq refuses: "another command is already in progress").
    @Test(.timeLimit(.minutes(2))) func childTasksSharingAConnectionTakeTurns() async throws {
        let manager = try ManagerTests.manager("task-share") {
            $0.poolSize = 1
            $0.maxOverflow = 0
        }
        defer { manager.shutdown() }
        let values = try await manager.withConnection { connection in
            try await withThrowingTaskGroup(of: Int?.self) { group in
                for i in 0..<6 {
                    group.addTask {
                        try await connection.execute("SELECT \(i) FROM pg_sleep(0.02)")[row: 0].int(0)
                    }
                }
                var all: [Int] = []
                for try await value in group { all.append(value ?? -1) }
                return all.sorted()
            }
        }
        #expect(values == Array(0..<6))
        let m = manager.metrics()
        #expect(m.checkedOut == 0 && m.connectionsCreated == 1)
    }

    // After shutdown the threads end; a task that still calls in gets a thread of its own and its answer.
    @Test(.timeLimit(.minutes(1))) func aTaskCallingAfterShutdownGetsItsErrorNotAHang() async throws {
        let manager = try ManagerTests.manager("task-after-shutdown")
        try await manager.withConnection { connection in _ = try await connection.execute("SELECT 1") }
        manager.shutdown()
        await #expect(throws: PoolError.self) {
            try await manager.withConnection { connection in _ = try await connection.execute("SELECT 1") }
        }
    }
}
