extension LocalCluster {
    /// What to start and how to configure it.
    public struct Options: Sendable {
        /// Also start a streaming standby (`pg_basebackup -R -X stream -c fast`).
        public var withStandby: Bool
        /// Extra `postgresql.conf` settings, applied after (and so overriding) the fast defaults.
        public var settings: [String: String]
        /// A login role that must authenticate with SCRAM over TCP, while `postgres` stays trusted.
        public var passwordUser: PasswordUser?

        public init(withStandby: Bool = false, settings: [String: String] = [:], passwordUser: PasswordUser? = nil) {
            self.withStandby = withStandby
            self.settings = settings
            self.passwordUser = passwordUser
        }
    }

    /// A role created with a password; `host all <name> 127.0.0.1/32 scram-sha-256` precedes the trust lines.
    public struct PasswordUser: Sendable {
        public var name: String
        public var password: String

        public init(name: String, password: String) {
            self.name = name
            self.password = password
        }
    }
}
