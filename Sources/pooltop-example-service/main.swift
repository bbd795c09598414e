// An example service embedding ConnectionManager with its control endpoint on: the one to copy.
//
//   DATABASE_URL=postgresql://app@db/orders DB_CONTROL_SOCKET=auto DB_POOL_NAME=orders-api \
//       swift run pooltop-example-service
//   pooltop attach            # in another terminal, as the same user
//
// Everything is configured by the environment (the README's DB_* table): DB_CONTROL_SOCKET=off|auto|PATH turns
// the endpoint on, DB_POOL_NAME names it. EXAMPLE_WORKERS (default 4) threads run short queries in a loop, and
// one "report job" checks out a session and never closes it — the leak that `pooltop attach` shows, with the
// file:line below where it was taken.
import ConnectionManager
import Dispatch
import Foundation

let environment = ProcessInfo.processInfo.environment
let workers = Int(environment["EXAMPLE_WORKERS"] ?? "") ?? 4
let pause = Double(environment["EXAMPLE_PAUSE_MS"] ?? "") ?? 50

let manager: ConnectionManager
do {
    manager = try ConnectionManager.fromEnvironment()
} catch {
    FileHandle.standardError.write(Data("pooltop-example-service: \(error)\n".utf8))
    exit(2)
}
FileHandle.standardOutput.write(
    Data("pooltop-example-service: pid \(getpid()), control socket \(manager.controlSocketPath ?? "off")\n".utf8))

// SIGTERM / SIGINT: shut the manager down (it removes its control socket) and exit.
let signalSources = [SIGTERM, SIGINT].map { sig in
    signal(sig, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: sig, queue: .main)
    source.setEventHandler {
        manager.shutdown()
        exit(0)
    }
    source.resume()
    return source
}

/// A worker: borrow, run a statement, give back, pause.
func work(_ n: Int) {
    while true {
        do {
            _ = try manager.withConnection { connection in
                try connection.execute("SELECT pg_sleep(0.02), $1::int AS worker", [.int(n)])
            }
        } catch {
            // The dashboard shows connect failures and timeouts; the worker keeps trying.
        }
        Thread.sleep(forTimeInterval: pause / 1000)
    }
}

for n in 1...max(0, workers) {
    // Named from inside: the name the pool records (and the Leaks panel shows) is the running thread's.
    Thread {
        Thread.current.name = "worker-\(n)"
        work(n)
    }.start()
}

/// The bug a service author hunts with `pooltop attach`: a session checked out and never closed.
func startReportJob() {
    let thread = Thread {
        Thread.current.name = "report-job"
        do {
            let session = try manager.session()  // never closed: this line is the leak's checkout site
            _ = try session.execute("SELECT count(*) FROM pg_class")
            // The job "forgets" the session: it stays checked out as long as the process runs.
            while true { withExtendedLifetime(session) { Thread.sleep(forTimeInterval: 3600) } }
        } catch {
            FileHandle.standardError.write(Data("pooltop-example-service: report job: \(error)\n".utf8))
        }
    }
    thread.start()
}
startReportJob()

withExtendedLifetime(signalSources) { dispatchMain() }
