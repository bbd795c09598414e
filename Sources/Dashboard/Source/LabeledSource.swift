import PoolModel

/// An in-process source with a label saying whose pool it is (`pooltop --url`: pooltop's own probe pool;
/// `pooltop demo`: the demo's). Everything else goes to `base`.
public final class LabeledSource: MonitorSource {
    public let base: any MonitorSource
    public let sourceDescription: SourceDescription

    public init(_ base: any MonitorSource, as description: SourceDescription) {
        self.base = base
        self.sourceDescription = description
    }

    public func sourceStatus() -> SourceStatus { base.sourceStatus() }
    public func snapshot() -> ManagerSnapshot { base.snapshot() }
    public func perform(_ command: MonitorCommand) -> MonitorCommandOutcome { base.perform(command) }
    public func checkoutStack(connectionID: Int) -> [StackFrame] { base.checkoutStack(connectionID: connectionID) }
}
