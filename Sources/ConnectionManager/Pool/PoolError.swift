import Foundation

/// Why a checkout failed. "The pool is saturated" and "the server is unreachable" are different cases.
public enum PoolError: Error, Sendable, CustomStringConvertible {
    /// No connection became free within the checkout's timeout; `metrics` is the pool at that moment.
    case timedOut(waited: Duration, metrics: PoolMetrics)
    /// Opening the connection this checkout needed failed (server unreachable, authentication, deadline).
    case connectFailed(underlying: any Error & Sendable)
    /// The pool is backing off from opening connections because they keep failing (`lastError` is the latest
    /// failure; the next attempt starts at `retryAt`), and no pooled connection became free in time.
    case connectBackoff(lastError: any Error & Sendable, retryAt: Date)
    /// The pool was shut down before or while the checkout waited.
    case shutDown
    /// The task that waited for a connection was cancelled.
    case cancelled

    public var description: String {
        switch self {
        case .timedOut(let waited, let m):
            let seconds = Double(waited.nanoseconds) / 1e9
            if m.isSuspended {
                return "The pool is suspended: no connection was handed out within \(Self.format(seconds)) s because "
                    + "checkouts are suspended (`suspend()`, or `s` in pooltop). Resume the pool to go on."
            }
            return "The pool is saturated: no connection was free within \(Self.format(seconds)) s "
                + "(\(min(m.checkedOut, m.size)) of \(m.size) in use, \(m.overflow) of \(m.maxOverflow) overflow, "
                + "\(m.waiting) waiting, \(m.connecting) connecting). Raise pool_size or max_overflow, "
                + "or look for connections that are held too long."
        case .connectFailed(let underlying):
            return "The database could not be reached: \(underlying)"
        case .connectBackoff(let lastError, let retryAt):
            let seconds = max(0, retryAt.timeIntervalSinceNow)
            let last = "\(lastError)"
            return "The database could not be reached, so the pool is backing off from opening connections "
                + "(next attempt in \(Self.format(seconds)) s) and no pooled connection became free; "
                + "the last attempt failed with: \(last)\(last.hasSuffix(".") ? "" : ".")"
        case .shutDown:
            return "The connection pool has been shut down; no more connections can be checked out."
        case .cancelled:
            return "The checkout was cancelled before a connection became free."
        }
    }

    private static func format(_ seconds: Double) -> String {
        let tenths = (seconds * 10).rounded() / 10
        return "\(tenths)"
    }
}
