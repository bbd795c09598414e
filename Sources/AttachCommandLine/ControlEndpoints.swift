import PoolModel

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Finding control endpoints from what the user typed: socket paths, directories of sockets, or pool names
/// (looked up in the control directory); nothing = `POOLTOP_ATTACH`, else the control directory.
package enum ControlEndpoints {
    /// A socket and what its `GET /v1/info` said (or why it said nothing).
    package struct Probe {
        package var path: String
        package var result: Result<ControlClient.Info, ControlClientError>

        package var info: ControlClient.Info? { try? result.get() }
    }

    /// What the arguments name.
    package struct Resolution {
        /// Socket paths, in the order found.
        package var sockets: [String]
        /// The directories searched (for messages).
        package var directories: [String]
        /// True when exactly one socket path was named outright (not found by searching).
        package var isExplicitSocket: Bool
    }

    package static func resolve(
        _ arguments: [String], command: String, environment: [String: String]
    ) throws(CommandFailure) -> Resolution {
        var words = arguments
        if words.isEmpty, let fromEnvironment = environment["POOLTOP_ATTACH"], !fromEnvironment.isEmpty,
            command == "attach"
        {
            words = [fromEnvironment]
        }
        let controlDirectory = ControlDiscovery.directory(environment: environment)
        if words.isEmpty { words = [controlDirectory] }
        var sockets: [String] = []
        var directories: [String] = []
        var explicit = 0
        for word in words {
            switch ControlDiscovery.kind(of: word) {
            case .socket:
                sockets.append(word)
                explicit += 1
            case .directory:
                directories.append(word)
                sockets += ControlDiscovery.sockets(in: word).map(\.path)
            case .missing:
                if word == controlDirectory {
                    directories.append(word)
                } else if !word.contains("/"), ControlDiscovery.isValidPoolName(word) {
                    // A pool name: the newest socket of that name in the control directory.
                    guard let found = ControlDiscovery.newest(poolName: word, in: controlDirectory) else {
                        throw .badInput(
                            "pooltop \(command): \(word) is neither a path nor the pool name of a socket in "
                                + "\(controlDirectory); expected a control socket, a directory of them, or a pool name "
                                + "(`pooltop ls` lists them).")
                    }
                    sockets.append(found.path)
                    explicit += 1
                } else {
                    throw .badInput(
                        "pooltop \(command): \(word) does not exist; expected a control socket (e.g. "
                            + "\(controlDirectory)/<pool>.<pid>.sock) or a directory of them.")
                }
            case .other(let reason):
                throw .badInput(
                    "pooltop \(command): \(word) is not a control socket (\(reason)); expected a Unix socket that a "
                        + "service opened with DB_CONTROL_SOCKET, or a directory of them.")
            }
        }
        return Resolution(
            sockets: sockets, directories: directories, isExplicitSocket: explicit == 1 && sockets.count == 1)
    }

    /// Asks every socket who it is (1 s each).
    package static func probe(_ sockets: [String], timeout: Duration = .seconds(1)) -> [Probe] {
        sockets.map { path in
            Probe(
                path: path,
                result: Result { () throws(ControlClientError) in
                    try ControlClient(socketPath: path, timeout: timeout).info()
                })
        }
    }

    /// The message when no endpoint answers.
    package static func noneMessage(_ command: String, _ resolution: Resolution, probes: [Probe]) -> String {
        let places =
            resolution.directories.isEmpty ? "the sockets given" : resolution.directories.joined(separator: ", ")
        var text =
            "pooltop \(command): no service answers in \(places). A service turns its control endpoint on "
            + "with DB_CONTROL_SOCKET=auto (a socket in \(ControlDiscovery.directory())) or DB_CONTROL_SOCKET=/path/to.sock; "
            + "then run `pooltop \(command) [SOCKET]`."
        let dead = probes.filter { $0.info == nil }
        if !dead.isEmpty {
            text += "\nNot answering:"
            for probe in dead {
                if case .failure(let error) = probe.result { text += "\n  \(probe.path): \(error.summary)" }
            }
        }
        return text
    }

    /// One line per live endpoint, for "choose one" messages.
    package static func describe(_ probes: [Probe]) -> String {
        probes.compactMap { probe in
            probe.info.map { "  \($0.poolName) (pid \($0.pid), \($0.program ?? "?"))  \(probe.path)" }
        }.joined(separator: "\n")
    }
}
