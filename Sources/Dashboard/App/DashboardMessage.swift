import PoolModel

/// A fact the dashboard learns: input to `DashboardState.update`.
public enum DashboardMessage: Sendable, Equatable {
    case keyPressed(Key)
    /// The refresh timer took a new snapshot.
    case tick(ManagerSnapshot)
    /// What the source says about itself, each tick before the snapshot (whose pool; live or stale).
    case sourceReported(SourceDescription, SourceStatus)
    case resized(width: Int, height: Int)
    case commandCompleted(MonitorCommand, MonitorCommandOutcome)
    case demoActionCompleted(index: Int, MonitorCommandOutcome)
    case stackLoaded(connectionID: Int, frames: [StackFrame])
    /// The backend could not load a theme (message names the file and the problem).
    case themeFailed(String)
}

/// Work `update` asks the shell to do.
public enum DashboardEffect: Sendable, Equatable {
    case quit
    /// Run a command off the main queue; its outcome comes back as `.commandCompleted`.
    case perform(MonitorCommand)
    /// Symbolicate a checkout stack off the main queue; comes back as `.stackLoaded`.
    case loadStack(connectionID: Int)
    case changeRefresh(Duration)
    /// Load and apply the theme with this name.
    case applyTheme(String)
    /// Run `DashboardOptions.demoActions[i]` off the main queue.
    case runDemoAction(Int)
}
