import Foundation
import LocalCluster
import Logging
import Testing

@testable import ConnectionManager

#if canImport(Glibc)
    import Glibc
#endif

/// Who may talk to the control socket, checked with clients of other uids and groups (runuser, setpriv: these
/// tests need root, and skip with a message otherwise).
@Suite("ControlEndpoint security", .serialized)
struct ControlEndpointSecurityTests {
    static var isRoot: Bool { getuid() == 0 }

    /// A manager whose log lines are kept, its socket in a directory others may traverse (0711).
    static func manager(
        _ test: String, _ adjust: (inout ConnectionPoolConfig) -> Void = { _ in }
    ) throws -> (ConnectionManager, CapturingLogHandler, String) {
        let directory = ControlTests.directory(mode: 0o711)
        let socket = directory + "/sec.sock"
        let handler = CapturingLogHandler()
        let logger = Logger(label: "pooltop.ctest") { _ in handler }
        var config = try ManagerTests.configuration(
            LocalCluster.shared().primary.url, applicationName: ManagerTests.applicationName(test))
        config.controlSocket = .path(socket)
        config.poolName = "sec-\(test)"
        adjust(&config)
        return (try ConnectionManager(configuration: config, logger: logger), handler, socket)
    }

    @Test("another uid cannot connect through the 0600 mode, and is refused without a byte when the mode is opened")
    func otherUserIsRefused() throws {
        try #require(Self.isRoot && ControlTests.hasCurl, "needs root (runuser) and curl")
        let (manager, log, socket) = try Self.manager("nobody")
        defer { manager.shutdown() }

        // The file mode stops it first: connect fails (EACCES), nothing reaches the service.
        let blocked = try ControlTests.curl(socket, "/v1/snapshot", as: ControlTests.asNobody)
        #expect(blocked.status == 0)
        #expect(blocked.body.isEmpty)

        // With the mode opened up (a mistake, or a directory ACL), the peer check still refuses: no response.
        #expect(chmod(socket, 0o666) == 0)
        for route in ["/v1/info", "/v1/snapshot", "/v1/status"] {
            let refused = try ControlTests.curl(socket, route, as: ControlTests.asNobody)
            #expect(refused.status == 0, "nobody got \(refused.status) on \(route)")
            #expect(!refused.raw.contains("{"), "nobody got data on \(route): \(refused.raw.prefix(200))")
        }
        let command = try ControlTests.curl(
            socket, "/v1/commands", method: "POST", body: #"{"command":"suspend"}"#, as: ControlTests.asNobody)
        #expect(command.status == 0)
        #expect(manager.metrics().isSuspended == false)
        let refusals = log.lines.filter { $0.contains("refused uid 65534") }
        #expect(refusals.count == 1, "refusals are logged once per 10 s: \(refusals)")
        #expect(refusals.first?.contains("(curl)") == true)
        // The owner still gets through.
        #expect(try ControlTests.curl(socket, "/v1/info").status == 200)
    }

    @Test(
        "a member of the control group reads but cannot act; with DB_CONTROL_GROUP_CAN_ACT it can",
        arguments: [false, true])
    func groupReader(canAct: Bool) throws {
        try #require(Self.isRoot && ControlTests.hasCurl, "needs root (setpriv) and curl")
        let gid: UInt32 = 54_321
        let (manager, _, socket) = try Self.manager("group-\(canAct)") { config in
            config.controlGroup = .gid(gid)
            config.controlGroupCanAct = canAct
        }
        defer { manager.shutdown() }
        var info = stat()
        #expect(lstat(socket, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o660)
        #expect(info.st_gid == gid)

        for client in [ControlTests.asNobody(primaryGroup: gid), ControlTests.asNobody(supplementaryGroup: gid)] {
            let answer = try ControlTests.curl(socket, "/v1/info", as: client)
            #expect(answer.status == 200)
            #expect(answer.json?["access"] as? String == (canAct ? "act" : "read"))
            #expect(try ControlTests.curl(socket, "/v1/snapshot", as: client).status == 200)
            let command = try ControlTests.curl(
                socket, "/v1/commands", method: "POST", body: #"{"command":"suspend"}"#, as: client)
            #expect(command.status == (canAct ? 200 : 403))
            #expect(manager.metrics().isSuspended == canAct)
            manager.resume()
        }
        // Not in the group: refused.
        #expect(try ControlTests.curl(socket, "/v1/info", as: ControlTests.asNobody).status == 0)
    }
}
