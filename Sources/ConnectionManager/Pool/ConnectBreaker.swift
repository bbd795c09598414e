/// Whether the pool may open a connection now: a circuit breaker with exponential backoff and jitter, one per
/// pool (the pool opens to one target at a time; a retarget closes it). Pure: time comes in as monotonic
/// nanoseconds, randomness from a seeded generator.
///
/// States:
/// - `closed`: opens go ahead. → `open` when an open fails.
/// - `open(until:)`: no opens before `until`. → `halfOpen` when the first open after `until` starts (the trial);
///   → `closed` when an open started earlier succeeds after all, or on a retarget.
/// - `halfOpen`: one trial open is in flight, no other starts. → `closed` when it succeeds, → `open` (with twice
///   the backoff) when it fails.
///
/// The backoff after the n-th failure in a row is `initialBackoff · 2^(n−1)`, at most `maximumBackoff`, of which a
/// random part is waited: uniformly between half and all of it ("equal jitter"), so that pools restarted
/// together do not retry in step.
struct ConnectBreaker {
    enum State: Equatable, Sendable {
        case closed
        case open(until: Int64)
        case halfOpen
    }

    /// 50 ms, doubling per failure in a row.
    static var initialBackoffNanoseconds: Int64 { 50_000_000 }
    /// 5 s.
    static var maximumBackoffNanoseconds: Int64 { 5_000_000_000 }

    private(set) var state = State.closed
    /// Failed opens in a row (0 while closed). Opens that were already in flight when the breaker opened count
    /// once with the failure that opened it: they say nothing new about the server.
    private(set) var failures = 0
    /// When the first failure of this streak happened.
    private(set) var failingSince: Int64 = 0
    /// The error of the latest failed open, for the callers' errors.
    private(set) var lastError: (any Error)?
    /// The latest failure will not go away by retrying (wrong password, unknown database).
    private(set) var isLastErrorPermanent = false
    /// When the latest backoff ends (while `open`; kept for the metrics while `halfOpen`).
    private(set) var retryAt: Int64 = 0
    private var random: SplitMix64

    init(seed: UInt64) {
        random = SplitMix64(seed: seed)
    }

    var isClosed: Bool { state == .closed }

    /// An open may start now. Moves `open` past its deadline to `halfOpen` (this open is the trial).
    mutating func mayOpen(now: Int64) -> Bool {
        switch state {
        case .closed:
            return true
        case .open(let until) where now >= until:
            state = .halfOpen
            return true
        case .open, .halfOpen:
            return false
        }
    }

    /// The trial is due (the breaker is open and its backoff has ended).
    func isTrialDue(now: Int64) -> Bool {
        if case .open(let until) = state { return now >= until }
        return false
    }

    /// Waiting for a connect no longer makes sense: the last error is permanent, or the failures have lasted at
    /// least `patience` (the pool timeout: every caller would have given up by now).
    func isTripped(now: Int64, patience: Int64) -> Bool {
        guard !isClosed else { return false }
        return isLastErrorPermanent || now - failingSince >= patience
    }

    /// An open failed with `error`; returns when the next may start.
    @discardableResult
    mutating func openFailed(_ error: any Error, isPermanent: Bool, now: Int64) -> Int64 {
        lastError = error
        isLastErrorPermanent = isPermanent
        if case .open = state { return retryAt }
        if failures == 0 { failingSince = now }
        failures += 1
        let shift = min(failures - 1, 30)
        let full = min(Self.maximumBackoffNanoseconds, Self.initialBackoffNanoseconds << shift)
        let jitter = Int64(random.next() % UInt64(full / 2 + 1))
        retryAt = now + full / 2 + jitter
        state = .open(until: retryAt)
        return retryAt
    }

    /// A connection opened, or the pool now opens to another target: closed, the streak forgotten.
    mutating func reset() {
        state = .closed
        failures = 0
        lastError = nil
        isLastErrorPermanent = false
        retryAt = 0
    }
}

/// A small, fast, seedable pseudo-random generator (Vigna's SplitMix64), for the breaker's jitter.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
