import Foundation
import Testing

@testable import LocalCluster

/// Children of LocalCluster (initdb, pg_ctl, the servers, psql, the watchdog) get a minimal environment, so a
/// password in the caller's `DATABASE_URL`, `DATABASE_FAILOVER_URLS` or `PGPASSWORD` never sits in their
/// `/proc/PID/environ` (readable by the `postgres` account and by root).
@Suite("child environment")
struct ChildEnvironmentTests {
    @Test("only PATH, the C locale and TZ/TMPDIR are passed on; explicit variables are added")
    func minimalEnvironment() {
        let caller = [
            "DATABASE_URL": "postgresql://u:PLANTED@db/app", "DATABASE_FAILOVER_URLS": "postgresql://u:PLANTED@db2/app",
            "PGPASSWORD": "PLANTED", "PGHOST": "elsewhere", "AWS_SECRET_ACCESS_KEY": "PLANTED", "HOME": "/root",
            "PATH": "/usr/local/bin:/usr/bin:/bin", "TZ": "UTC", "TMPDIR": "/var/tmp", "LANG": "de_DE.UTF-8",
        ]
        let env = CommandRunner.childEnvironment(caller: caller, explicit: ["PGCONNECT_TIMEOUT": "5"])
        #expect(
            env == [
                "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C", "LC_ALL": "C", "TZ": "UTC", "TMPDIR": "/var/tmp",
                "PGCONNECT_TIMEOUT": "5",
            ])
        #expect(!env.values.contains { $0.contains("PLANTED") })
        // A caller without PATH still gets a usable one.
        #expect(CommandRunner.childEnvironment(caller: [:], explicit: [:])["PATH"] == "/usr/sbin:/usr/bin:/sbin:/bin")
    }

    @Test("the running servers and their children carry none of this process's variables")
    func serversDoNotInheritTheCallersEnvironment() throws {
        let cluster = try LocalCluster.start()
        defer { cluster.stop() }
        let postmaster = try #require(cluster.primary.postmasterPID)
        // Every variable of this (test) process that the children may not have, with a value distinctive
        // enough that a match cannot be a coincidence.
        let passedOn: Set<String> = ["PATH", "LANG", "LC_ALL", "TZ", "TMPDIR"]
        let ours = ProcessInfo.processInfo.environment.filter { !passedOn.contains($0.key) && $0.value.count >= 6 }
            .map { "\($0.key)=\($0.value)" }
        try #require(!ours.isEmpty, "this process has variables to look for")
        let processes = [postmaster] + ProcessTable.children(of: postmaster)
        #expect(processes.count > 1, "the postmaster has children (checkpointer, walwriter…)")
        for pid in processes {
            // A backend's process title may overwrite its environment block: then there is nothing to read.
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            let environ = Set(data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
            let leaked = ours.filter { environ.contains($0) }
            #expect(leaked.isEmpty, "process \(pid) inherited \(leaked.map { $0.prefix(while: { $0 != "=" }) })")
            if pid == postmaster { #expect(environ.contains("LC_ALL=C"), "the postmaster's: \(environ.sorted())") }
        }
    }
}
