import CLibPQ
import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension PostgresConnection {
    /// Runs blocking libpq work for a task on this connection's own thread (`executor`) and suspends the task
    /// meanwhile: the cooperative pool is never blocked, and one statement costs one hop there and one back.
    ///
    /// Cancelling the task cancels the statement: before it was sent, `work` does not run and `CancellationError`
    /// is thrown; while it runs, a cancel request goes to the server (`PQcancel`, from a thread of its own), the
    /// server's 57014 answer becomes `CancellationError`, and the connection stays usable — `perform` does not
    /// return before the server has taken the request (so it cannot hit a later statement), and marks the
    /// connection broken when the server does not take it within `cancelDeliveryTimeout` (the pool then closes it
    /// at checkin instead of lending it again).
    ///
    /// What the connection's thread wrote (libpq's state, the session flags) is read by the task after it resumes
    /// (its checkin looks at the transaction status): `AsyncStatement.handOver()` on both sides orders the two
    /// with a pthread mutex, which the thread sanitizer sees — the continuation's resume orders them too, but
    /// inside the uninstrumented Swift runtime, and CI's sanitizer run reported the checkin's read as a race.
    func perform<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let statement = AsyncStatement()
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, any Error>, Never>) in
                executor.async {
                    let outcome = self.run(statement, work)
                    statement.handOver()
                    continuation.resume(returning: outcome)
                }
            }
        } onCancel: {
            statement.cancel(self.cancelToken)
        }
        statement.handOver()
        return try outcome.get()
    }

    /// One statement of `perform`, on the connection's thread.
    private func run<T>(_ statement: AsyncStatement, _ work: () throws -> T) -> Result<T, any Error> {
        guard statement.start() else { return .failure(CancellationError()) }
        let outcome = Result { try work() }
        guard let request = statement.finish() else { return outcome }
        if !request.wait(until: .now + Self.cancelDeliveryTimeout) {
            markBroken("A cancelled task's cancel request was not confirmed by the server.")
        }
        if case .failure(PostgresError.server(let error)) = outcome, error.sqlState == "57014" {
            return .failure(CancellationError())
        }
        return outcome
    }

    /// Runs `work` on this connection's thread and waits for it, whether or not the task is cancelled (a checkin's
    /// rollback, which must happen either way). Handed over as in `perform`.
    func performUncancellable<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        let statement = AsyncStatement()
        let value = await withCheckedContinuation { continuation in
            executor.async {
                let value = work()
                statement.handOver()
                continuation.resume(returning: value)
            }
        }
        statement.handOver()
        return value
    }

    /// How long a cancelled task's statement waits for the server to take the cancel request (1 s, as `cancel()`).
    static var cancelDeliveryTimeout: Duration { .seconds(1) }

    /// Runs `sql` like `execute`, from a task: sent from the task, the reply awaited in the `SocketReactor`.
    /// - Throws: `CancellationError` when the task was cancelled (the statement was cancelled or never sent), else
    ///   what `execute` throws.
    public func execute(
        _ sql: String, _ parameters: [PostgresValue] = [], timeout: Duration? = nil
    ) async throws -> QueryResult {
        try await runFromTask(sql, parameters, timeout: timeout).result
    }

    /// `run` from a task, without a thread per statement: the task sends the statement itself (libpq's sends do
    /// not block in non-blocking mode), yields twice in case the reply comes at once, else suspends in the
    /// process's `SocketReactor` until the reply is readable or the deadline passes, and reads the reply when it resumes — the same `advance`/`waited`/`finish` steps as
    /// the blocking path, so the deadline, the cancel at the deadline and the errors are the same.
    ///
    /// Cancellation as in `perform`: before the statement is sent it is not sent (`CancellationError`); while it
    /// runs a cancel request goes to the server, whose 57014 answer becomes `CancellationError`, and the statement
    /// does not return before the server took the request (or the connection is marked broken after
    /// `cancelDeliveryTimeout`). Waiting for that confirmation, the one wait that can block, runs on the
    /// connection's own thread when the request is not confirmed yet. `cancellable: false` (a session's rollback,
    /// which must happen either way) ignores the task's cancellation.
    func runFromTask(
        _ sql: String, _ parameters: [PostgresValue], timeout: Duration?, cancellable: Bool = true
    ) async throws -> (result: QueryResult, commitRolledBack: Bool) {
        guard let reactor = SocketReactor.shared else {
            // No epoll (the kernel refused one, or not Linux): the statement blocks the connection's own thread.
            return cancellable
                ? try await perform { try self.run(sql, parameters, timeout: timeout) }
                : try await performUncancellable { Result { try self.run(sql, parameters, timeout: timeout) } }.get()
        }
        await statementTurn.take()
        defer { statementTurn.give() }
        let outcome: Result<(result: QueryResult, commitRolledBack: Bool), any Error>
        if cancellable {
            let statement = AsyncStatement()
            outcome = await withTaskCancellationHandler {
                guard statement.start() else { return .failure(CancellationError()) }
                let outcome = await statementOutcome(sql, parameters, timeout: timeout, reactor)
                guard let request = statement.finish() else { return outcome }
                if await !request.delivered(before: .now + Self.cancelDeliveryTimeout, waitingOn: executor) {
                    markBroken("A cancelled task's cancel request was not confirmed by the server.")
                }
                if case .failure(PostgresError.server(let error)) = outcome, error.sqlState == "57014" {
                    return .failure(CancellationError())
                }
                return outcome
            } onCancel: {
                statement.cancel(self.cancelToken)
            }
        } else {
            outcome = await statementOutcome(sql, parameters, timeout: timeout, reactor)
        }
        switch outcome {
        case .success(let ran): return ran
        // The server quotes values in its messages; none of them may be a configured password.
        case .failure(let error as PostgresError): throw error.scrubbing(secrets)
        case .failure(let error): throw error
        }
    }

    /// One statement from `runFromTask`, its errors kept (the cancellation handler's follow-up needs them).
    private func statementOutcome(
        _ sql: String, _ parameters: [PostgresValue], timeout: Duration?, _ reactor: SocketReactor
    ) async -> Result<(result: QueryResult, commitRolledBack: Bool), any Error> {
        do throws(PostgresError) {
            let (handle, scan) = try start(sql, parameters)
            var collector = ResultCollector(timeout: timeout)
            defer { collector.discard() }
            var looked = false
            while let events = try advance(&collector, handle) {
                if events == POLLIN {
                    // Once the reply has started to arrive, more of it is usually in the socket already: read it
                    // without a round through the reactor (a 20 MB result is hundreds of reads).
                    if looked, SocketWait.isReadableNow(PQsocket(handle)) {
                        try waited(&collector, .ready(readable: true), handle)
                        continue
                    }
                    // Right after sending, the reply to a short statement is tens of microseconds away: give the
                    // CPU to the server if it is on this machine, then let the other tasks run (`Task.yield`),
                    // looking at the socket after each turn. A reply there by then costs no wake of the reactor's
                    // thread and none of a cooperative thread, each of which costs tens of microseconds when it
                    // wakes an idle CPU (BENCHMARKS.md, sixth and seventh sessions).
                    if !looked {
                        looked = true
                        // Not on the reactor's thread: it runs every task that prefers it, and gave its CPU away
                        // for all of them (`select1` ×0.82 at 64 and 256 tasks there, BENCHMARKS.md).
                        let handOff = !reactor.isCurrentThread
                        if await replyArrivesWhileYielding(PQsocket(handle), handOff: handOff) {
                            try waited(&collector, .ready(readable: true), handle)
                            continue
                        }
                    }
                }
                let outcome = await reactor.wait(PQsocket(handle), for: events, until: collector.deadline)
                try waited(&collector, outcome, handle)
                looked = true
            }
            var delivered = true
            if let request = collector.timeoutCancel {
                delivered = await request.delivered(before: collector.deadline ?? .now, waitingOn: executor)
            }
            let result = try finish(&collector, handle, timeoutCancelDelivered: delivered)
            return .success((result, scan.commitRolledBack(result)))
        } catch {
            return .failure(error)
        }
    }
}

extension PostgresConnection {
    /// How many times a task yields, looking at its socket after each turn, before it waits in the reactor. Two:
    /// 64 tasks' `SELECT 1` went from 28.8k to 41.0k a second with two, and four or eight did no better
    /// (`benchmarks/issue11-yield-rounds-20261203.jsonl`).
    static var yieldRounds: Int { 2 }

    /// With `handOff`, gives the CPU to whoever waits for it (`sched_yield`: the server, woken on this CPU by the
    /// statement, when it runs on this machine) unless `handOffHabit` learned that it does not pay on this
    /// connection; then yields to other tasks `yieldRounds` times; says whether `socket` became readable meanwhile.
    /// The hand-off does not block: the thread stays runnable, and gets the CPU back when the server sleeps again
    /// or its slice ends.
    func replyArrivesWhileYielding(_ socket: Int32, handOff: Bool) async -> Bool {
        if handOff, handOffHabit.shouldHandOff() {
            sched_yield()
            let hit = SocketWait.isReadableNow(socket)
            handOffHabit.handedOff(hit: hit)
            if hit { return true }
        }
        for _ in 0..<Self.yieldRounds {
            await Task.yield()
            if SocketWait.isReadableNow(socket) { return true }
        }
        return false
    }
}

/// Where one task's statement is, so that the task's cancellation handler (any thread) and the connection's
/// thread agree on whether a cancel request was sent and must be waited for.
final class AsyncStatement: Sendable {
    private enum Phase {
        /// Queued on the connection's thread.
        case queued
        /// Cancelled before it started: it will not run.
        case cancelledBeforeStart
        case running
        /// Cancelled while running: the request on its way to the server.
        case cancelling(CancelRequest)
        case finished
    }

    /// A pthread mutex (`PoolLock`), not `Synchronization.Mutex`: the thread sanitizer does not see the futex under
    /// `Mutex` on Linux and reported the cancellation handler's write and the connection thread's read as a race.
    private let phase = PoolLock(Phase.queued)

    /// On the connection's thread, before the work: false when the task was cancelled first.
    func start() -> Bool {
        phase.withLock { phase in
            guard case .queued = phase else { return false }
            phase = .running
            return true
        }
    }

    /// On the connection's thread, after the work: the cancel request sent meanwhile, if any.
    func finish() -> CancelRequest? {
        phase.withLock { phase in
            defer { phase = .finished }
            if case .cancelling(let request) = phase { return request }
            return nil
        }
    }

    /// Takes and releases the lock: called by the connection's thread after the work and by the task after it
    /// resumes, so that everything the first did happens before what the second does, for the sanitizer too.
    func handOver() {
        phase.withLock { _ in }
    }

    /// From the task's cancellation handler. Sending only starts a thread (which calls `PQcancel`): no libpq
    /// call runs under this lock, and `finish` sees either no request or the one that was sent.
    func cancel(_ token: CancelToken) {
        phase.withLock { phase in
            switch phase {
            case .queued: phase = .cancelledBeforeStart
            case .running: phase = .cancelling(token.sendInBackground())
            case .cancelledBeforeStart, .cancelling, .finished: break
            }
        }
    }
}
