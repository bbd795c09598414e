import Testing

@testable import ConnectionManager

/// Who may read and act, from credentials alone.
@Suite("PeerAccess")
struct PeerAccessTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let peer: ControlPeer
        let policy: PeerAccess.Policy
        let expected: PeerAccess
        var testDescription: String { name }
    }

    static let owner: UInt32 = 1000
    static let group: UInt32 = 2000

    static let cases: [Case] = [
        .init(
            name: "same uid", peer: .init(uid: 1000, gid: 1000, pid: 1), policy: .init(ownerUID: owner),
            expected: .readAndAct),
        .init(name: "root", peer: .init(uid: 0, gid: 0, pid: 1), policy: .init(ownerUID: owner), expected: .readAndAct),
        .init(
            name: "other uid, no group", peer: .init(uid: 1001, gid: 2000, pid: 1), policy: .init(ownerUID: owner),
            expected: .refused),
        .init(
            name: "group member by gid", peer: .init(uid: 1001, gid: 2000, pid: 1),
            policy: .init(ownerUID: owner, group: group), expected: .read),
        .init(
            name: "group member by supplementary group", peer: .init(uid: 1001, gid: 1001, pid: 1, groups: [5, 2000]),
            policy: .init(ownerUID: owner, group: group), expected: .read),
        .init(
            name: "group member who may act", peer: .init(uid: 1001, gid: 2000, pid: 1),
            policy: .init(ownerUID: owner, group: group, groupCanAct: true), expected: .readAndAct),
        .init(
            name: "not in the group", peer: .init(uid: 1001, gid: 1001, pid: 1, groups: [5, 6]),
            policy: .init(ownerUID: owner, group: group, groupCanAct: true), expected: .refused),
        .init(
            name: "the service's own gid is not a grant", peer: .init(uid: 1001, gid: 1000, pid: 1),
            policy: .init(ownerUID: owner), expected: .refused),
        .init(
            name: "nobody", peer: .init(uid: 65534, gid: 65534, pid: 1),
            policy: .init(ownerUID: 0), expected: .refused),
    ]

    @Test(arguments: cases)
    func access(_ input: Case) {
        #expect(PeerAccess.decide(input.peer, policy: input.policy) == input.expected)
    }

    @Test func refusalsAreLoggedOncePerInterval() {
        var limiter = RefusalLogLimiter(interval: 10)
        #expect(limiter.refusal(at: 100) == 0)
        #expect(limiter.refusal(at: 101) == nil)
        #expect(limiter.refusal(at: 109.9) == nil)
        #expect(limiter.refusal(at: 110) == 2)
        #expect(limiter.refusal(at: 130) == 0)
    }

    @Test func programNamesAreSanitized() {
        #expect(ControlPeer.sanitizedProgram("pooltop\n") == "pooltop")
        #expect(ControlPeer.sanitizedProgram("\u{1b}[31mred") == "?[31mred")
        #expect(ControlPeer.sanitizedProgram("") == "?")
        #expect(ControlPeer.sanitizedProgram(String(repeating: "x", count: 100)).count == 32)
        #expect(
            ControlPeer(uid: 1000, gid: 1000, pid: 4242, program: "pooltop").description
                == "uid 1000 pid 4242 (pooltop)")
    }

    @Test func groupsLineOfProcStatusIsRead() {
        let status = "Name:\tcurl\nUid:\t1000\t1000\t1000\t1000\nGroups:\t4 24 27 1000 \nNSpid:\t1\n"
        #expect(ControlPeerFacts.groups(statusText: status) == [4, 24, 27, 1000])
        #expect(ControlPeerFacts.groups(statusText: "Groups:\t\n") == [])
        #expect(ControlPeerFacts.groups(statusText: "Name: x") == [])
    }
}
