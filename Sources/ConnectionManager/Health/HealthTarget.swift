/// A server the health monitor checks: its place in the target list and its masked URL.
public struct HealthTarget: Sendable, Hashable {
    /// Position in the target list (0 = the primary URL, then the failover URLs in order).
    public var index: Int
    /// The target's URL with the password masked; safe to log and show.
    public var url: String

    public init(index: Int, url: String) {
        self.index = index
        self.url = url
    }
}
