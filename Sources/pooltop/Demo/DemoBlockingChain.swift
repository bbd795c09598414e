import ConnectionManager
import Foundation
import Synchronization

/// The demo's lock trouble, every 45 s (first after 30 s): a pool session takes a row lock and sits `idle in
/// transaction` for 15 s (past the leak threshold, so it is also a leak) while 3 other clients, on connections
/// of their own (`pooltop-demo-client`), wait for the same row. The Server panel shows the chain and marks the
/// blocker as the pool's leak; `x` in the server view ends it.
struct DemoBlockingChain: Sendable {
    let manager: ConnectionManager
    static let table = "pooltop_demo_accounts"
    static let waiters = 3
    static let hold = 15_000
    static let every = 45_000
    static let firstAfter = 30_000

    /// Runs cycles until `stopped`; each cycle ends its sessions before the next sleep.
    func run(until stopped: borrowing Atomic<Bool>) {
        SyntheticLoad.sleep(milliseconds: Self.firstAfter, unless: stopped)
        while !stopped.load(ordering: .relaxed) {
            cycle(stopped)
            SyntheticLoad.sleep(milliseconds: Self.every - Self.hold, unless: stopped)
        }
    }

    private func cycle(_ stopped: borrowing Atomic<Bool>) {
        let update = "UPDATE \(Self.table) SET balance = balance + 1 WHERE id = 1"
        do {
            try manager.withConnection { connection in
                _ = try connection.execute(
                    "CREATE TABLE IF NOT EXISTS \(Self.table) (id int PRIMARY KEY, balance int NOT NULL DEFAULT 0)")
                _ = try connection.execute("INSERT INTO \(Self.table) VALUES (1, 0) ON CONFLICT DO NOTHING")
            }
        } catch {
            return  // No server to play with right now (the demo's K, say): try again next cycle.
        }
        guard let blocker = try? manager.session() else { return }
        guard (try? blocker.execute(update)) != nil, let url = primaryURL() else {
            blocker.close()
            return
        }
        let clients = DispatchGroup()
        var connections: [PostgresConnection] = []
        for _ in 0..<Self.waiters {
            guard
                let connection = try? PostgresConnection.connect(
                    to: url, deadline: .seconds(2), applicationName: "pooltop-demo-client")
            else { continue }
            connections.append(connection)
            clients.enter()
            let thread = Thread {
                // Waits for the row until the blocker ends (or a person ends it from the server view).
                _ = try? connection.execute(update, timeout: .seconds(60))
                clients.leave()
            }
            thread.name = "demo-waiter"
            thread.start()
        }
        SyntheticLoad.sleep(milliseconds: Self.hold, unless: stopped)
        blocker.close()
        // The waiters get the row now (their statements are bounded at 60 s); only then are their connections
        // closed, never under a running statement.
        clients.wait()
        for connection in connections { connection.close() }
    }

    /// The first target that answers as a primary, for the waiting clients' own connections.
    private func primaryURL() -> DatabaseURL? {
        for url in manager.configuration.targets {
            guard let probe = try? PostgresConnection.connect(to: url, deadline: .seconds(1)) else { continue }
            defer { probe.close() }
            if (try? probe.execute("SELECT pg_is_in_recovery()")[row: 0].bool(0)) == false { return url }
        }
        return nil
    }
}
