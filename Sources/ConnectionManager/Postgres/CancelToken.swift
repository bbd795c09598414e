import CLibPQ
import Dispatch
import Foundation

/// libpq's `PGcancel` for one connection: sends cancel requests from any thread.
///
/// `PQcancel` opens a new connection to the server and waits until the server closes it. On a stopped server that
/// wait never ends, so requests run on their own short-lived thread and callers wait for them with a deadline.
final class CancelToken: @unchecked Sendable {  // Immutable after init; PQcancel only reads the PGcancel.
    private let raw: OpaquePointer

    init?(connection: OpaquePointer) {
        guard let raw = PQgetCancel(connection) else { return nil }
        self.raw = raw
    }

    deinit {
        PQfreeCancel(raw)
    }

    /// Sends a cancel request on a new thread and returns at once; the request keeps this token alive.
    func sendInBackground() -> CancelRequest {
        let request = CancelRequest()
        Thread.detachNewThread { [self] in
            var buffer = [CChar](repeating: 0, count: 256)
            let sent = PQcancel(raw, &buffer, Int32(buffer.count)) == 1
            let message = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            request.finish(error: sent ? nil : String(decoding: message, as: UTF8.self))
        }
        return request
    }
}

/// One cancel request in flight.
final class CancelRequest: @unchecked Sendable {  // `error` is written once before `done` is signalled, read after.
    private let done = DispatchSemaphore(value: 0)
    private var error: String?

    fileprivate func finish(error: String?) {
        self.error = error
        done.signal()
    }

    /// Waits until the server acknowledged the request or `deadline` passed.
    /// - Returns: true when the request was delivered before the deadline.
    func wait(until deadline: ContinuousClock.Instant) -> Bool {
        let remaining = max(deadline - .now, .zero)
        let (seconds, attoseconds) = remaining.components
        let nanoseconds = Int(clamping: seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        guard done.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .success else { return false }
        return error == nil
    }

    /// `wait(until:)` from a task: answers at once when the request is already confirmed (the usual case: the
    /// server answers the cancelled statement after taking the request), else waits on `queue` (a connection's own
    /// thread), never on the cooperative pool.
    func delivered(before deadline: ContinuousClock.Instant, waitingOn queue: DispatchQueue) async -> Bool {
        if done.wait(timeout: .now()) == .success {
            done.signal()  // Taken back for `wait(until:)`, which then answers at once.
            return wait(until: deadline)
        }
        return await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.wait(until: deadline)) }
        }
    }
}
