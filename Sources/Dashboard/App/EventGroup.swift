import PoolModel

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Consecutive events with the same kind and message, shown as one row (`×27` after the message, the newest time).
public struct EventGroup: Sendable, Equatable {
    /// The newest event of the run (its time is the row's time).
    public var newest: PoolEvent
    public var count: Int
    /// When the oldest event of the run happened.
    public var firstAt: Date

    public init(newest: PoolEvent, count: Int = 1, firstAt: Date? = nil) {
        self.newest = newest
        self.count = count
        self.firstAt = firstAt ?? newest.at
    }

    /// The log (oldest first) as rows, newest first, each run of repeats folded into one.
    public static func fold(_ events: [PoolEvent]) -> [EventGroup] {
        var groups: [EventGroup] = []
        for event in events.reversed() {
            if let last = groups.last, last.newest.kind == event.kind, last.newest.message == event.message {
                groups[groups.count - 1].count += 1
                groups[groups.count - 1].firstAt = event.at
            } else {
                groups.append(EventGroup(newest: event))
            }
        }
        return groups
    }
}

/// The event detail view: one (folded) event and a scroll offset into its wrapped text.
public struct EventDetail: Sendable, Equatable {
    public var group: EventGroup
    /// First text line shown.
    public var scroll: Int

    public init(group: EventGroup, scroll: Int = 0) {
        self.group = group
        self.scroll = scroll
    }
}
