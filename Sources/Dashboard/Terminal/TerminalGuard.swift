import Glibc

// Signal-handler state. Safety: written only by `TerminalGuard.arm()` on the main thread before any
// handler is installed, then only read (by the handlers), so no handler ever sees a partial write.
nonisolated(unsafe) private var savedTermios = termios()
nonisolated(unsafe) private var hasSavedTermios = false
nonisolated(unsafe) private var previousActions: UnsafeMutablePointer<sigaction>?
nonisolated(unsafe) private var restoreSequence: UnsafeMutablePointer<UInt8>?
nonisolated(unsafe) private var restoreSequenceLength = 0

/// Restores the terminal on a crash: leaves the alternate screen, shows the cursor, resets
/// attributes and the saved termios, then re-raises the signal to the previous (Swift's) handler.
///
/// Uses only async-signal-safe calls (`write`, `tcsetattr`, `sigaction`, `raise`).
enum TerminalGuard {
    static let fatalSignals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP]

    /// Saves the current termios (call before `initscr`) and installs the crash handlers.
    static func arm() {
        hasSavedTermios = tcgetattr(STDIN_FILENO, &savedTermios) == 0
        let bytes = Array("\u{1B}[0m\u{1B}[?1049l\u{1B}[?25h\r\n".utf8)
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count)
        buffer.initialize(from: bytes, count: bytes.count)
        restoreSequence = buffer
        restoreSequenceLength = bytes.count
        let actions = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)
        actions.initialize(repeating: sigaction(), count: 65)
        previousActions = actions
        for sig in fatalSignals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = crashHandler
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(sig, &action, actions + Int(sig))
        }
    }

    /// Puts the previous handlers back (after a clean `endwin`).
    static func disarm() {
        guard let actions = previousActions else { return }
        for sig in fatalSignals { sigaction(sig, actions + Int(sig), nil) }
    }

    /// Restores the terminal without curses (also used by the crash handler).
    static func restoreTerminal() {
        if let seq = restoreSequence { _ = write(STDOUT_FILENO, seq, restoreSequenceLength) }
        if hasSavedTermios { _ = tcsetattr(STDIN_FILENO, TCSANOW, &savedTermios) }
    }
}

private let crashHandler: @convention(c) (Int32) -> Void = { sig in
    TerminalGuard.restoreTerminal()
    if let actions = previousActions {
        sigaction(sig, actions + Int(sig), nil)
    } else {
        signal(sig, SIG_DFL)
    }
    raise(sig)
}
