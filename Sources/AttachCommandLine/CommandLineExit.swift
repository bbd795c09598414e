import ArgumentParser
import PoolModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How `pooltop` and `pooltop-attach` end on an error: the message on stderr and the exit code (2 for bad input or
/// configuration; a ``CommandFailure`` carries its own).
package enum CommandLineExit {
    package static func terminate<Root: ParsableCommand>(for error: any Error, root: Root.Type) -> Never {
        switch error {
        case let failure as CommandFailure:
            StandardError.write(failure.message + "\n")
            exit(failure.code)
        case let error as ConfigurationError:
            fail("pooltop: \(error)")
        case let error as ExitCode:
            exit(error.rawValue)
        default:
            if Root.exitCode(for: error) == .success {
                Root.exit(withError: error)  // --help, --version
            }
            fail(Root.fullMessage(for: error))
        }
    }

    package static func fail(_ message: String) -> Never {
        StandardError.write(message + "\n")
        exit(2)
    }
}
