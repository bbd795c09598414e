import Testing

@testable import ConnectionManager

/// The one rule for recycling and pre-ping, which the machine and the lane both apply.
@Suite("ReuseRule")
struct ReuseRuleTests {
    @Test func recyclesOnlyStrictlyPastTheAge() {
        let rule = ReuseRule(recycleNanoseconds: 1_000, prePingNanoseconds: nil)
        #expect(!rule.isTooOld(openedAt: 5_000, now: 6_000))
        #expect(rule.isTooOld(openedAt: 5_000, now: 6_001))
        #expect(!ReuseRule(recycleNanoseconds: nil, prePingNanoseconds: nil).isTooOld(openedAt: 0, now: .max))
    }

    @Test func pingsOnlyStrictlyPastTheIdleThresholdAndAlwaysAtZero() {
        let rule = ReuseRule(recycleNanoseconds: nil, prePingNanoseconds: 500)
        #expect(!rule.needsPing(idleSince: 1_000, now: 1_500))
        #expect(rule.needsPing(idleSince: 1_000, now: 1_501))
        let always = ReuseRule(recycleNanoseconds: nil, prePingNanoseconds: 0)
        #expect(always.needsPing(idleSince: 1_000, now: 1_000))
        #expect(!ReuseRule(recycleNanoseconds: nil, prePingNanoseconds: nil).needsPing(idleSince: 0, now: .max))
    }

    @Test func readsTheConfiguration() {
        let rule = ReuseRule(PoolConfiguration(recycle: .seconds(2), prePingAfterIdle: .milliseconds(3)))
        #expect(rule == ReuseRule(recycleNanoseconds: 2_000_000_000, prePingNanoseconds: 3_000_000))
        #expect(ReuseRule(PoolConfiguration()) == ReuseRule(recycleNanoseconds: nil, prePingNanoseconds: 500_000_000))
    }
}
