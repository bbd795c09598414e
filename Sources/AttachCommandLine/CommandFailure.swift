/// A failure of a control command with its exit code (1: unreachable or refused, 2: bad input); `Main` prints
/// the message to stderr and exits with the code.
package struct CommandFailure: Error, CustomStringConvertible {
    package var message: String
    package var code: Int32

    package init(message: String, code: Int32) {
        self.message = message
        self.code = code
    }
    package var description: String { message }

    package static func badInput(_ message: String) -> CommandFailure { CommandFailure(message: message, code: 2) }
    package static func failed(_ message: String) -> CommandFailure { CommandFailure(message: message, code: 1) }
}
