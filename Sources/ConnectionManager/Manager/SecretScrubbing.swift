import Foundation

// Where scrubbing happens (see ``SecretScrubber``): every error a `PostgresConnection` throws (libpq's and the
// server's text), every health result (`HealthProbe`), every event and log line (`ConnectionManager.record`),
// every command outcome (`perform`), and once more over the whole snapshot the dashboard, the status JSON and
// the control endpoint are made from.

extension ConnectionPoolConfig {
    /// A scrubber for the passwords of every target.
    public var secretScrubber: SecretScrubber { SecretScrubber(targets) }
}

extension PostgresError {
    /// The same error with every secret replaced by `***` in its texts.
    func scrubbing(_ scrubber: SecretScrubber) -> PostgresError {
        guard !scrubber.isEmpty else { return self }
        switch self {
        case .connectFailed(let target, let message):
            return .connectFailed(target: target, message: scrubber.scrub(message))
        case .authenticationFailed(let target, let message):
            return .authenticationFailed(target: target, message: scrubber.scrub(message))
        case .server(var error):
            error.message = scrubber.scrub(error.message)
            error.detail = scrubber.scrub(error.detail)
            error.hint = scrubber.scrub(error.hint)
            return .server(error)
        case .connectionLost(let message):
            return .connectionLost(message: scrubber.scrub(message))
        case .typeMismatch(let column, let value, let expected):
            return .typeMismatch(column: column, value: scrubber.scrub(value), expected: expected)
        case .embeddedNUL(let parameter, let offset, let sqlPrefix):
            return .embeddedNUL(parameter: parameter, offset: offset, sqlPrefix: sqlPrefix.map { scrubber.scrub($0) })
        case .connectTimedOut, .queryTimedOut, .columnNotFound, .connectionClosed:
            return self
        }
    }
}

extension HealthCheckResult {
    func scrubbing(_ scrubber: SecretScrubber) -> HealthCheckResult {
        guard !scrubber.isEmpty, error != nil else { return self }
        var result = self
        result.error = scrubber.scrub(error)
        return result
    }
}

extension MonitorCommandOutcome {
    func scrubbing(_ scrubber: SecretScrubber) -> MonitorCommandOutcome {
        scrubber.isEmpty ? self : MonitorCommandOutcome(succeeded: succeeded, message: scrubber.scrub(message))
    }
}

extension ManagerSnapshot {
    /// Every free text of the snapshot scrubbed: events, health errors, failover refusals and errors, and the SQL
    /// of leaked connections (a statement may quote a password, e.g. `ALTER ROLE … PASSWORD`).
    func scrubbing(_ scrubber: SecretScrubber) -> ManagerSnapshot {
        guard !scrubber.isEmpty else { return self }
        var s = self
        s.lastHealthCheck = lastHealthCheck?.scrubbing(scrubber)
        s.healthHistory = healthHistory.map { $0.scrubbing(scrubber) }
        s.health.detail = health.detail.map { scrubber.scrub($0) }
        s.events = events.map { event in
            var event = event
            event.message = scrubber.scrub(event.message)
            return event
        }
        s.failover.targets = failover.targets.map { target in
            var target = target
            target.lastError = scrubber.scrub(target.lastError)
            return target
        }
        s.failover.history = failover.history.map { event in
            var event = event
            event.refusal = scrubber.scrub(event.refusal)
            return event
        }
        func scrub(_ info: ConnectionInfo) -> ConnectionInfo {
            var info = info
            info.lastSQL = scrubber.scrub(info.lastSQL)
            return info
        }
        s.leaks = leaks.map { leak in
            var leak = leak
            leak.info = scrub(leak.info)
            if var server = leak.server {
                server.query = scrubber.scrub(server.query)
                leak.server = server
            }
            return leak
        }
        if var server {
            server.error = scrubber.scrub(server.error)
            server.sessions = server.sessions.map { session in
                var session = session
                session.query = scrubber.scrub(session.query)
                return session
            }
            s.server = server
        }
        s.returnedLeaks = returnedLeaks.map { leak in
            var leak = leak
            leak.info = scrub(leak.info)
            return leak
        }
        return s
    }
}
