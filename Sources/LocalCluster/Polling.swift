import Foundation

/// Calls `check` every `interval` until it returns true; throws `timedOut(what)` once `timeout` has passed.
func waitUntil(
    _ what: @autoclosure () -> String, timeout: Duration = .seconds(30), interval: Duration = .milliseconds(20),
    _ check: () throws(LocalClusterError) -> Bool
) throws(LocalClusterError) {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if try check() { return }
        if clock.now >= deadline { throw .timedOut(what()) }
        Thread.sleep(
            forTimeInterval: Double(interval.components.attoseconds) / 1e18
                + Double(interval.components.seconds))
    }
}
