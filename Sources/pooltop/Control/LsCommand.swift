import ArgumentParser
import AttachCommandLine
import ConnectionManager
import Foundation

/// `pooltop ls`: the control endpoints this user can reach, like `jps` / `gops`.
struct LsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the services whose control endpoint this user can reach (name, pid, pool, target, health).",
        discussion: """
            Looks in the per-user control directory ($XDG_RUNTIME_DIR/pooltop/ or /tmp/pooltop-<uid>/), or in the \
            directories and sockets given. Sockets that do not answer are listed with the reason. \
            Exit codes: 0 (also when there is none), 2 bad input.
            """)

    @Argument(help: "Directories or sockets to look at (default: the control directory).")
    var places: [String] = []

    @Flag(name: .long, help: "Print one JSON array (pool_name, pid, program, socket, target, healthy, pool_size, …).")
    var json = false

    struct Row: Encodable {
        var socket: String
        var reachable: Bool
        var poolName: String?
        var pid: Int32?
        var program: String?
        var target: String?
        var healthy: Bool?
        var poolSize: Int?
        var checkedOut: Int?
        var overflow: Int?
        var error: String?

        enum CodingKeys: String, CodingKey {
            case socket, reachable, pid, program, target, healthy, overflow, error
            case poolName = "pool_name"
            case poolSize = "pool_size"
            case checkedOut = "checked_out"
        }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let resolution = try ControlEndpoints.resolve(places, command: "ls", environment: environment)
        let rows = ControlEndpoints.probe(resolution.sockets).map(Self.row)
        if json {
            let data = try ControlJSON.encoder(pretty: true).encode(rows)
            print(String(decoding: data, as: UTF8.self))
            return
        }
        if rows.isEmpty {
            FileHandle.standardError.write(
                Data(
                    ("pooltop ls: no control sockets in \(resolution.directories.joined(separator: ", ")). A service "
                        + "turns its endpoint on with DB_CONTROL_SOCKET=auto.\n").utf8))
            return
        }
        print(Self.table(rows))
    }

    static func row(_ probe: ControlEndpoints.Probe) -> Row {
        switch probe.result {
        case .failure(let error):
            return Row(socket: probe.path, reachable: false, error: error.summary)
        case .success(let info):
            var row = Row(
                socket: probe.path, reachable: true, poolName: info.poolName, pid: info.pid, program: info.program,
                target: info.target)
            do {
                let status = try ControlClient(socketPath: probe.path, timeout: .seconds(1)).status()
                row.healthy = status.isHealthy
                row.poolSize = status.status.poolMetrics.size
                row.checkedOut = status.status.poolMetrics.checkedOut
                row.overflow = status.status.poolMetrics.overflow
                row.target = status.status.failoverStats.currentURL
            } catch {
                row.error = error.summary
            }
            return row
        }
    }

    /// Columns NAME PID POOL TARGET HEALTHY SOCKET; POOL is in use / size (+ overflow).
    static func table(_ rows: [Row]) -> String {
        let header = ["NAME", "PID", "POOL", "TARGET", "HEALTHY", "SOCKET"]
        let cells: [[String]] = rows.map { row in
            let pool = row.poolSize.map { size in
                "\(row.checkedOut ?? 0)/\(size)" + ((row.overflow ?? 0) > 0 ? " +\(row.overflow!)" : "")
            }
            let healthy: String
            if !row.reachable {
                healthy = "no answer: \(row.error ?? "?")"
            } else if let h = row.healthy {
                healthy = h ? "yes" : "NO"
            } else {
                healthy = "? (\(row.error ?? "no status"))"
            }
            return [
                Self.clean(row.poolName ?? "-"), row.pid.map(String.init) ?? "-", pool ?? "-",
                Self.clean(row.target ?? "-"), healthy, row.socket,
            ]
        }
        var widths = header.map(\.count)
        for line in cells { for (i, cell) in line.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func format(_ line: [String]) -> String {
            line.enumerated().map { i, cell in
                i == line.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([format(header)] + cells.map(format)).joined(separator: "\n")
    }

    /// What a service wrote, without control characters (they must not reach the terminal).
    static func clean(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) ? "?" : Character($0) })
    }
}
