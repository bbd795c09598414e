import Foundation

/// The manager as the control endpoint's service (docs/CONTROL-PROTOCOL.md).
extension ConnectionManager: ControlService {
    /// The control socket's path while the endpoint runs (`controlSocket` not `.off`), nil otherwise.
    public var controlSocketPath: String? {
        control.withLock { $0?.path }
    }

    /// Starts the endpoint the configuration asks for (last step of `init`); on failure the manager is shut down
    /// and the error names the setting.
    func startControlEndpoint() throws(ConfigurationError) {
        guard configuration.controlSocket != .off else { return }
        do {
            let endpoint = try ControlEndpoint.start(
                setting: configuration.controlSocket, poolName: configuration.poolName,
                group: configuration.controlGroup, groupCanAct: configuration.controlGroupCanAct, service: self,
                logger: logger)
            control.withLock { $0 = endpoint }
            logger.info("Control endpoint listening on \(endpoint.path) (pooltop attach \(endpoint.path)).")
        } catch {
            shutdown()
            throw error.configurationError
        }
    }

    func controlInfo(access: PeerAccess, socket: String) -> ControlInfo {
        ControlInfo(
            poolName: configuration.poolName, pid: getpid(), program: ProcessInfo.processInfo.processName,
            startedAt: startedAt, target: factory.currentTarget.masked, socket: socket, access: access.rawValue)
    }

    func knownCheckoutStack(connectionID: Int) -> [StackFrame]? {
        if let stack = state.withLock({ $0.ledger.stack(connectionID: connectionID) }) { return stack.symbolicated() }
        guard let record = pool.checkedOutConnections().first(where: { $0.connectionID == connectionID }) else {
            return nil
        }
        return record.stack?.symbolicated() ?? []
    }

    /// Runs a command sent by `peer` over the control socket; the resulting events name the peer.
    func perform(_ command: MonitorCommand, by peer: ControlPeer) -> MonitorCommandOutcome {
        switch command {
        case .failover(let target):
            record(
                .info,
                "A failover to \(target.map { "target \($0)" } ?? "the next suitable target") was requested\(Self.by(peer)).",
                actor: peer)
            return failover(to: target)
        case .terminateLeak(let connectionID):
            return terminate(leak: connectionID, by: peer)
        case .suspend:
            suspend(by: peer)
            return MonitorCommandOutcome(succeeded: true, message: "The pool is suspended: checkouts wait.")
        case .resume:
            resume(by: peer)
            return MonitorCommandOutcome(succeeded: true, message: "The pool is resumed.")
        case .evictIdle:
            evictIdle(by: peer)
            return MonitorCommandOutcome(
                succeeded: true, message: "Idle connections were closed; lent ones close when returned.")
        case .cancelBackend(let pid):
            return signalBackend(pid: pid, terminate: false, by: peer)
        case .terminateBackend(let pid):
            return signalBackend(pid: pid, terminate: true, by: peer)
        }
    }
}
