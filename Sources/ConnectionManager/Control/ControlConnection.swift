import Dispatch
import Foundation

/// One accepted connection: read one request within the deadline, answer it, close. Lives on the endpoint's
/// serial queue.
///
/// States: reading (read source armed, deadline running) → serving (the request is with the router or a
/// command) → writing (the response goes out, write source armed when the peer's buffer is full) → closed.
/// A peer that hangs up in any state just ends the connection.
final class ControlConnection: @unchecked Sendable {
    // Safety: every mutable property is read and written only on `endpoint.queue` (a serial queue): the Dispatch
    // sources deliver there, `serve`'s reply hops back there, and `close` runs there.
    private let fd: Int32
    let peer: ControlPeer
    let access: PeerAccess
    private let endpoint: ControlEndpoint
    private var parser: HTTPRequestParser
    private var readSource: DispatchSourceRead?
    private var writeSource: DispatchSourceWrite?
    private var deadline: DispatchSourceTimer?
    private var pending: [UInt8] = []
    private var written = 0
    private(set) var isClosed = false
    /// The sources still to be cancelled; the descriptor is closed once all cancel handlers ran.
    private let sources = DispatchGroup()

    init(fd: Int32, peer: ControlPeer, access: PeerAccess, endpoint: ControlEndpoint) {
        self.fd = fd
        self.peer = peer
        self.access = access
        self.endpoint = endpoint
        parser = HTTPRequestParser(limits: endpoint.limits.http)
    }

    func start() {
        let read = DispatchSource.makeReadSource(fileDescriptor: fd, queue: endpoint.queue)
        sources.enter()
        read.setEventHandler { [self] in readAvailable() }
        read.setCancelHandler { [sources] in sources.leave() }
        readSource = read
        arm(deadline: endpoint.limits.readDeadline) { [self] in
            respond(
                .error(.requestTimeout, "The request did not arrive within \(seconds(endpoint.limits.readDeadline)) s.")
            )
        }
        read.resume()
    }

    private func arm(deadline duration: Duration, _ expired: @escaping () -> Void) {
        deadline?.cancel()
        let timer = DispatchSource.makeTimerSource(queue: endpoint.queue)
        timer.schedule(deadline: .now() + duration.dispatch, leeway: .milliseconds(50))
        timer.setEventHandler { [self] in
            guard !isClosed else { return }
            expired()
        }
        deadline = timer
        timer.resume()
    }

    private func readAvailable() {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !isClosed, readSource != nil {
            switch UnixSocket.read(fd, into: &chunk) {
            case .wouldBlock:
                return
            case .closed:
                // The peer hung up before its request was complete: nobody to answer.
                close()
                return
            case .bytes(let count):
                switch parser.append(chunk[0..<count]) {
                case .needMore:
                    continue
                case .reject(let status, let reason):
                    respond(.error(status, reason))
                case .request(let request):
                    stopReading()
                    deadline?.cancel()
                    deadline = nil
                    endpoint.serve(request, peer: peer, access: access) { [self] response in
                        // Runs on the endpoint's queue (the endpoint guarantees it).
                        respond(response)
                    }
                }
                return
            }
        }
    }

    private func stopReading() {
        readSource?.cancel()
        readSource = nil
    }

    /// Sends `response` (within the write deadline), then closes.
    private func respond(_ response: HTTPResponse) {
        guard !isClosed, pending.isEmpty else { return }
        stopReading()
        pending = response.bytes
        written = 0
        arm(deadline: endpoint.limits.writeDeadline) { [self] in close() }
        writeMore()
    }

    private func writeMore() {
        while !isClosed, written < pending.count {
            switch UnixSocket.write(fd, pending[written...]) {
            case .wrote(let count):
                written += count
            case .wouldBlock:
                if writeSource == nil {
                    let source = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: endpoint.queue)
                    sources.enter()
                    source.setEventHandler { [self] in writeMore() }
                    source.setCancelHandler { [sources] in sources.leave() }
                    writeSource = source
                    source.resume()
                }
                return
            case .closed:
                close()
                return
            }
        }
        if !isClosed { close() }
    }

    /// Ends the connection (idempotent); the descriptor is closed once its sources are cancelled.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        readSource?.cancel()
        writeSource?.cancel()
        deadline?.cancel()
        readSource = nil
        writeSource = nil
        deadline = nil
        UnixSocket.shutdownBoth(fd)
        sources.notify(queue: endpoint.queue) { [fd] in UnixSocket.close(fd) }
        endpoint.connectionFinished(self)
    }

    private func seconds(_ duration: Duration) -> String {
        let s = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return s == s.rounded() ? "\(Int(s))" : "\(s)"
    }
}
