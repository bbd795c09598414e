// The README's library quick start, compiled by `swift build` so it cannot rot.
// Run it with: DATABASE_URL=postgresql://user@localhost/db swift run QuickStart
import ConnectionManager
import Foundation

do {
    // Reads DATABASE_URL, DATABASE_FAILOVER_URLS and the DB_* variables (see the README's table).
    let manager = try ConnectionManager.fromEnvironment()
    defer { manager.shutdown() }

    // A transaction: commits when the closure returns, rolls back when it throws.
    try manager.withSession { session in
        try session.execute("CREATE TEMP TABLE IF NOT EXISTS notes (id serial, body text)")
        try session.execute("INSERT INTO notes (body) VALUES ($1)", ["hello from pooltop"])
        let rows = try session.execute("SELECT id, body FROM notes ORDER BY id")
        for row in rows.rows {
            print(try row.int("id") ?? 0, try row.string("body") ?? "NULL")
        }
    }

    // Autocommit, one statement: bound parameters, typed accessors.
    let answer = try manager.withConnection { connection in
        try connection.execute("SELECT $1::int + $2::int AS sum", [40, 2])[row: 0].int("sum")
    }
    print("40 + 2 =", answer ?? 0)

    // What the dashboard shows, as the seed's status JSON.
    let status = manager.healthStatus()
    print("healthy:", status.healthy, "checked out:", status.poolMetrics.checkedOut)
} catch {
    print("quick start failed: \(error)")
    exit(1)
}
