/// Why a request to a control endpoint failed. Every description names the socket (or what was read) and
/// what was expected, as a full sentence for the person at the terminal.
public enum ControlClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path cannot name a Unix socket (empty, too long for `sun_path`, or not a socket file).
    case invalidPath(String, reason: String)
    /// Nothing exists at the path (the service exited, or the name is wrong).
    case noSuchSocket(String)
    /// A socket file exists but nothing accepts on it (a service that died without removing it).
    case connectionRefused(String)
    /// The operating system refused the connect (file permissions: another user's socket).
    case permissionDenied(String)
    /// The service accepted and closed without a byte: its peer check refused this user, or it is at its
    /// connection limit.
    case closedWithoutResponse(String)
    /// No whole response within the deadline (`phase` is "connect", "send" or "response").
    case timedOut(String, phase: String, after: Duration)
    /// The connection broke mid-response or another system call failed.
    case transport(String, reason: String)
    /// The response does not follow the protocol's HTTP subset.
    case malformedResponse(String)
    /// The response's `Content-Length` is above what this client reads.
    case responseTooLarge(limit: Int)
    /// The service speaks another control protocol version (`nil`: it has no `/v1/info`).
    case protocolVersion(String, theirs: Int?)
    /// The service answered with an error status (the message is the service's, or the status line).
    case unexpectedStatus(String, route: String, status: Int, message: String)
    /// The body is not the JSON the route documents.
    case undecodable(String, route: String, reason: String)

    public var description: String {
        switch self {
        case .invalidPath(let path, let reason):
            return "\(path) is not a control socket: \(reason)."
        case .noSuchSocket(let path):
            return "no control socket at \(path) (the service is not running, or its socket has another name; "
                + "`pooltop ls` lists the ones this user can reach)."
        case .connectionRefused(let path):
            return "nothing accepts connections on \(path) (a service that stopped without removing its socket?)."
        case .permissionDenied(let path):
            return "permission denied connecting to \(path): the socket belongs to another user "
                + "(run pooltop as the service's user, or ask for its DB_CONTROL_GROUP)."
        case .closedWithoutResponse(let path):
            return "the service at \(path) closed the connection without answering: this user is not allowed "
                + "(only the service's own uid, root, or members of its DB_CONTROL_GROUP are), "
                + "or it is at its connection limit."
        case .timedOut(let path, let phase, let after):
            return "no \(phase) from \(path) within \(Self.format(after)) (the service is stopped or overloaded?)."
        case .transport(let path, let reason):
            return "the connection to \(path) failed: \(reason)."
        case .malformedResponse(let reason):
            return "the control endpoint's response is not valid: \(reason)."
        case .responseTooLarge(let limit):
            return "the control endpoint's response is larger than \(limit) bytes, the most pooltop reads."
        case .protocolVersion(let path, let theirs):
            let version = theirs.map { "version \($0)" } ?? "an unknown version (it has no GET /v1/info)"
            return "the service at \(path) speaks control protocol \(version); this pooltop speaks "
                + "\(ControlClient.protocolVersion)."
        case .unexpectedStatus(let path, let route, let status, let message):
            return "\(route) on \(path) answered \(status): \(message)"
        case .undecodable(let path, let route, let reason):
            return "\(route) on \(path) returned JSON pooltop cannot read (\(reason))."
        }
    }

    /// A short phrase for a status line ("connection refused", "no answer within 2 s").
    public var summary: String {
        switch self {
        case .invalidPath(_, let reason): return "not a control socket: \(reason)"
        case .noSuchSocket: return "the socket is gone"
        case .connectionRefused: return "connection refused"
        case .permissionDenied: return "permission denied"
        case .closedWithoutResponse: return "closed without answering"
        case .timedOut(_, _, let after): return "no answer within \(Self.format(after))"
        case .transport(_, let reason): return reason
        case .malformedResponse(let reason): return "invalid response: \(reason)"
        case .responseTooLarge(let limit): return "response above \(limit) bytes"
        case .protocolVersion(_, let theirs):
            return "it speaks control protocol \(theirs.map { "version \($0)" } ?? "of unknown version"), "
                + "pooltop \(ControlClient.protocolVersion)"
        case .unexpectedStatus(_, _, let status, let message): return "\(status): \(message)"
        case .undecodable(_, _, let reason): return "unreadable JSON (\(reason))"
        }
    }

    /// True when the service is gone or not listening (worth looking for a restarted one).
    public var isServiceGone: Bool {
        switch self {
        case .noSuchSocket, .connectionRefused: return true
        default: return false
        }
    }

    static func format(_ duration: Duration) -> String {
        let (seconds, atto) = duration.components
        let millis = seconds * 1000 + atto / 1_000_000_000_000_000
        return millis % 1000 == 0 ? "\(millis / 1000) s" : "\(millis) ms"
    }
}
