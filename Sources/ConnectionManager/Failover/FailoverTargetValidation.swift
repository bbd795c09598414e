/// Checks a failover target list before the manager uses it.
public enum FailoverTargetValidation {
    /// Throws `ConfigurationError.duplicateTarget` (with the masked URL of the second occurrence) when two
    /// targets have the same server identity.
    ///
    /// - Parameters:
    ///   - identities: one identity per target, compared exactly, e.g. `"db1.example.com:5432/app"`. The caller
    ///     normalizes (lowercase host, default port filled in, resolved unix socket directory), so two spellings
    ///     of one server compare equal.
    ///   - maskedURLs: the targets' URLs with passwords masked, same order and count as `identities`.
    public static func validateDistinct(identities: [String], maskedURLs: [String]) throws(ConfigurationError) {
        precondition(identities.count == maskedURLs.count, "one masked URL per identity")
        var seen = Set<String>()
        for (identity, url) in zip(identities, maskedURLs) where !seen.insert(identity).inserted {
            throw .duplicateTarget(url: url)
        }
    }
}
