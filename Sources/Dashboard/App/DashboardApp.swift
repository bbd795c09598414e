import Dispatch
import PoolModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The dashboard's entry point for the CLI.
public enum DashboardApp {
    /// The message for stdout/stdin that are not terminals.
    public static let notATerminalMessage = "pooltop needs a terminal; for scripts use `pooltop status --json`"

    /// Why the dashboard cannot draw on this terminal (`TERM` unset, unknown, or `dumb`); nil when it can.
    public static func terminalProblem() -> String? {
        CursesBackend.terminalProblem(term: ProcessInfo.processInfo.environment["TERM"])
    }

    /// Runs the dashboard on the main queue until the user quits; call it from the main thread.
    ///
    /// Returns only on a failure before the screen is taken: 2 when stdin/stdout are not a terminal, `TERM`
    /// names no terminal curses can draw on, or the theme cannot be loaded (the reason is printed to stderr). Otherwise it never returns:
    /// it restores the terminal, calls `options.onExit` with the exit code (0 after `q`, 130 after
    /// SIGINT, 143 after SIGTERM, 129 after SIGHUP) and calls `exit`.
    public static func run(source: any MonitorSource, options: DashboardOptions) -> Int32 {
        guard isatty(STDOUT_FILENO) == 1, isatty(STDIN_FILENO) == 1 else {
            StandardError.write(notATerminalMessage + "\n")
            return 2
        }
        if let problem = terminalProblem() {
            StandardError.write("pooltop: \(problem)\n")
            return 2
        }
        let theme: Theme
        do {
            theme = try ThemeLoader(environment: options.environment).theme(for: options)
        } catch {
            StandardError.write("pooltop: theme: \(error)\n")
            return 2
        }
        dispatchPrecondition(condition: .onQueue(.main))  // DashboardApp.run must be called on the main thread.
        MainActor.assumeIsolated {
            let loop = DashboardLoop(source: source, options: options, theme: theme)
            DashboardLoop.running = loop
            loop.start()
        }
        dispatchMain()
    }
}

/// The thin shell around `DashboardState.update`: Dispatch sources on the main queue feed
/// messages in, effects go out; blocking work runs on background queues and comes back as messages.
@MainActor
final class DashboardLoop {
    /// Keeps the loop alive while `dispatchMain` runs (the Dispatch sources hold it weakly).
    static var running: DashboardLoop?
    private var state: DashboardState
    private let source: any MonitorSource
    private let options: DashboardOptions
    private let loader: ThemeLoader
    private var backend: CursesBackend?
    private var timer: DispatchSourceTimer?
    private var sources: [any DispatchSourceProtocol] = []
    private let commandQueue = DispatchQueue(label: "pooltop.dashboard.commands")
    private let stackQueue = DispatchQueue(label: "pooltop.dashboard.stacks")
    private var initialTheme: Theme

    init(source: any MonitorSource, options: DashboardOptions, theme: Theme) {
        self.source = source
        self.options = options
        self.loader = ThemeLoader(environment: options.environment)
        self.initialTheme = theme
        state = DashboardState(
            refresh: options.refreshInterval, theme: theme.name, colorsDisabled: options.colorsDisabled,
            demoActions: options.isDemo ? options.demoActions : [], title: options.title, timeZone: options.timeZone,
            source: source.sourceDescription)
    }

    func start() {
        // Dispatch sources get these signals; ncurses must not install its own SIGWINCH handler.
        for sig in [SIGWINCH, SIGINT, SIGTERM, SIGHUP] { signal(sig, SIG_IGN) }
        TerminalGuard.arm()
        let backend = CursesBackend(theme: initialTheme)
        self.backend = backend
        let size = backend.size
        _ = state.update(.resized(width: size.width, height: size.height))
        tick()

        let input = DispatchSource.makeReadSource(fileDescriptor: STDIN_FILENO, queue: .main)
        input.setEventHandler { [weak self] in MainActor.assumeIsolated { self?.readInput() } }
        input.resume()
        sources.append(input)

        let winch = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .main)
        winch.setEventHandler { [weak self] in MainActor.assumeIsolated { self?.resized() } }
        winch.resume()
        sources.append(winch)

        // SIGHUP (the ssh connection or the terminal window went away) ends it as orderly as SIGTERM does: the
        // load stops, the manager shuts down, a demo's servers go; the terminal is restored if it is still there.
        for (sig, code) in [(SIGINT, Int32(130)), (SIGTERM, Int32(143)), (SIGHUP, Int32(129))] {
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .main)
            s.setEventHandler { [weak self] in
                MainActor.assumeIsolated {
                    guard let self else { return }
                    self.shutdown(code)
                }
            }
            s.resume()
            sources.append(s)
        }
        startTimer(state.refreshInterval)
    }

    private func startTimer(_ interval: Duration) {
        timer?.cancel()
        let t = DispatchSource.makeTimerSource(queue: .main)
        let (seconds, atto) = interval.components
        let nanos = Int(seconds) * 1_000_000_000 + Int(atto / 1_000_000_000)
        t.schedule(deadline: .now() + .nanoseconds(nanos), repeating: .nanoseconds(nanos), leeway: .milliseconds(10))
        t.setEventHandler { [weak self] in
            MainActor.assumeIsolated {
                self?.tick()
            }
        }
        t.resume()
        timer = t
    }

    /// One refresh: the source's latest snapshot and what it says about itself, one redraw.
    private func tick() {
        let snapshot = source.snapshot()
        _ = state.update(.sourceReported(source.sourceDescription, source.sourceStatus()))
        send(.tick(snapshot))
    }

    private func readInput() {
        guard let backend else { return }
        let inputs = backend.readInput()
        guard !inputs.isEmpty else { return }
        var effects: [DashboardEffect] = []
        for input in inputs {
            switch input {
            case .key(let key): effects += state.update(.keyPressed(key))
            case .resized:
                let size = backend.size
                effects += state.update(.resized(width: size.width, height: size.height))
            }
        }
        run(effects)
        redraw()
    }

    private func resized() {
        guard let backend else { return }
        backend.resizeFromTerminal()
        let size = backend.size
        send(.resized(width: size.width, height: size.height))
    }

    /// Feeds one message through `update`, runs the effects, draws.
    func send(_ message: DashboardMessage) {
        run(state.update(message))
        redraw()
    }

    private func redraw() {
        guard let backend else { return }
        backend.draw(DashboardView.render(state, glyphs: backend.glyphs))
    }

    private func run(_ effects: [DashboardEffect]) {
        for effect in effects {
            switch effect {
            case .quit:
                shutdown(0)
            case .perform(let command):
                let source = self.source
                commandQueue.async {
                    let outcome = source.perform(command)
                    DispatchQueue.main.async { [weak self] in
                        MainActor.assumeIsolated { self?.send(.commandCompleted(command, outcome)) }
                    }
                }
            case .loadStack(let id):
                let source = self.source
                stackQueue.async {
                    let frames = source.checkoutStack(connectionID: id)
                    DispatchQueue.main.async { [weak self] in
                        MainActor.assumeIsolated { self?.send(.stackLoaded(connectionID: id, frames: frames)) }
                    }
                }
            case .changeRefresh(let interval):
                startTimer(interval)
            case .applyTheme(let name):
                do {
                    backend?.apply(try loader.load(name))
                } catch {
                    _ = state.update(.themeFailed("Theme \(name): \(error)"))
                }
            case .runDemoAction(let i):
                guard options.demoActions.indices.contains(i) else { continue }
                let action = options.demoActions[i]
                commandQueue.async {
                    let outcome = action.run()
                    DispatchQueue.main.async { [weak self] in
                        MainActor.assumeIsolated { self?.send(.demoActionCompleted(index: i, outcome)) }
                    }
                }
            }
        }
    }

    /// Restores the terminal, lets the CLI clean up, exits.
    private func shutdown(_ code: Int32) -> Never {
        timer?.cancel()
        for s in sources { s.cancel() }
        backend?.end()
        TerminalGuard.disarm()
        options.onExit?(code)
        exit(code)
    }
}
