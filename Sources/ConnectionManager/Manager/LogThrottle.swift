/// Keeps a repeated log line from flooding the log (one failed checkout per line during an outage was 21,345
/// warnings in 42 s): a line with the same key is logged at most once per `interval`; the repeats in between are
/// counted and reported with the next line of that key as "(×K in the last N s)", or by `flush` once the interval
/// has passed without one. Pure: time comes in as monotonic nanoseconds.
struct LogThrottle {
    private struct Entry {
        var loggedAt: Int64
        /// Lines of this key not logged since `loggedAt`.
        var suppressed: Int
        /// The latest of them (its numbers may differ from the logged one's).
        var latest: String
    }

    let interval: Int64
    private var entries: [String: Entry] = [:]

    init(interval: Duration) {
        self.interval = interval.nanoseconds
    }

    /// The line to log for `message` now, or nil when it is counted instead.
    mutating func admit(_ message: String, key: String, now: Int64) -> String? {
        if var entry = entries[key], now - entry.loggedAt < interval {
            entry.suppressed += 1
            entry.latest = message
            entries[key] = entry
            return nil
        }
        let previous = entries[key]
        entries[key] = Entry(loggedAt: now, suppressed: 0, latest: message)
        // The repeats of a window that ended without being flushed are reported with this line.
        guard let previous, previous.suppressed > 0 else { return message }
        return "\(message) (×\(previous.suppressed + 1) in the last \(seconds(of: now - previous.loggedAt)))"
    }

    /// Lines that sum up the repeats of keys whose interval has passed; forgets keys that went quiet.
    mutating func flush(now: Int64) -> [String] {
        var lines: [String] = []
        for (key, entry) in entries where now - entry.loggedAt >= interval {
            if entry.suppressed > 0 {
                lines.append("\(entry.latest) (×\(entry.suppressed) in the last \(seconds(of: now - entry.loggedAt)))")
                entries[key] = Entry(loggedAt: now, suppressed: 0, latest: entry.latest)
            } else {
                entries[key] = nil
            }
        }
        return lines.sorted()
    }

    private func seconds(of nanoseconds: Int64) -> String {
        "\(max(1, Int((Double(nanoseconds) / 1e9).rounded()))) s"
    }
}
