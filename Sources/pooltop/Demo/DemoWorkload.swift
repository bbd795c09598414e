import ConnectionManager
import Foundation
import Synchronization

/// The demo's synthetic traffic: steady clients, periodic bursts that push the pool into overflow and
/// make callers wait, and a connection deliberately leaked every `leakEvery` (held past the threshold,
/// then returned) so the Leaks panel and its checkout stack have something to show.
///
/// It runs in the demo's service process (`pooltop demo-service`, DemoServiceCommand.swift), on that process's
/// manager; the dashboard sees it only through the control socket.
final class DemoWorkload: Sendable {
    let manager: ConnectionManager
    let leakEvery: Duration
    let leakHold: Duration
    private let isStopped = Atomic<Bool>(false)
    private let group = DispatchGroup()

    init(manager: ConnectionManager, leakEvery: Duration, leakHold: Duration) {
        self.manager = manager
        self.leakEvery = leakEvery
        self.leakHold = leakHold
    }

    /// Starts every generator of the demo's traffic. A new generator (in a file of its own under Demo/) starts
    /// here too, with `spawn` so that `stop()` waits for it and `stopped` ends it.
    func start() {
        spawn("demo-steady", count: 4) { [self] _ in steadyClient() }
        spawn("demo-burst", count: 1) { [self] _ in burstScheduler() }
        spawn("demo-leaker", count: 1) { [self] _ in leakScheduler() }
        spawn("demo-blocker", count: 1) { [self] _ in DemoBlockingChain(manager: manager).run(until: isStopped) }
    }

    /// Asks every generator to stop, without waiting.
    func requestStop() {
        isStopped.store(true, ordering: .relaxed)
    }

    /// Asks every generator to stop and waits (at most 3 s) for them.
    func stop() {
        requestStop()
        _ = group.wait(timeout: .now() + 3)
    }

    var stopped: Bool { isStopped.load(ordering: .relaxed) }

    func spawn(_ name: String, count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        for index in 0..<count {
            group.enter()
            let threadName = count == 1 ? name : "\(name)-\(index)"
            let thread = Thread { [group] in
                nameThisThread(threadName)
                body(index)
                group.leave()
            }
            thread.name = threadName
            thread.start()
        }
    }

    func pause(_ milliseconds: Int) {
        SyntheticLoad.sleep(milliseconds: milliseconds, unless: isStopped)
    }

    /// Short queries with think time: the pool's everyday life.
    private func steadyClient() {
        while !stopped {
            _ = try? manager.withConnection { connection in
                try connection.execute("SELECT pg_sleep($1::float8)", [.double(Double.random(in: 0.005...0.06))])
            }
            pause(Int.random(in: 20...150))
        }
    }

    /// Every 15–25 s, 24 clients hold connections for a while: overflow, waiting, a busy gauge.
    private func burstScheduler() {
        pause(4_000)
        while !stopped {
            let burst = DispatchGroup()
            for index in 0..<24 {
                burst.enter()
                let thread = Thread { [self] in
                    defer { burst.leave() }
                    nameThisThread("demo-burst-\(index)")
                    let end = Date().addingTimeInterval(3)
                    while Date() < end && !stopped {
                        _ = try? manager.withConnection { connection in
                            try connection.execute(
                                "SELECT pg_sleep($1::float8)", [.double(Double.random(in: 0.1...0.4))])
                        }
                    }
                }
                thread.name = "demo-burst-\(index)"
                thread.start()
            }
            burst.wait()
            pause(Int.random(in: 15_000...25_000))
        }
    }

    /// Every `leakEvery`, forget to give a connection back for a while.
    private func leakScheduler() {
        pause(2_000)
        while !stopped {
            leakAConnectionForTheDemo()
            pause(Self.milliseconds(leakEvery))
        }
    }

    /// The deliberate leak: a session opened, used, and then held far longer than the leak threshold
    /// (an "idle in transaction" backend on the server). Its checkout stack points here.
    @inline(never)
    private func leakAConnectionForTheDemo() {
        guard let session = try? manager.session() else { return }
        _ = try? session.execute("SELECT count(*) FROM pg_class WHERE relname = $1", ["orders"])
        let hold = leakHold
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Self.milliseconds(hold))) {
            session.close()
        }
    }

    /// A duration in whole milliseconds (sub-second parts included: `--leak-every 500ms` is 500, not 0).
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
