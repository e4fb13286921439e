/// The node owner's `node.toml`: which apps run, under which profile, with which grants.
///
/// ```toml
/// [node]
/// name = "guild-node"
/// owners = []                     # base64url ed25519 keys allowed to administer the node
/// reserve_mb = 128                # below this much free space the node refuses app calls (audit still writes)
///
/// [apps.hello]
/// enabled = true
/// profile = "default"
/// storage_quota_mb = 64
/// events_quota_mb = 64            # the app's events kept in node.db
/// timers_quota_mb = 8             # the app's pending timers kept in node.db
/// outbox_quota_mb = 16            # the app's net_send messages waiting in node.db for their peers' acks
/// log_lines_per_s = 100           # app log lines the node writes per second; the rest are dropped and counted
/// [apps.hello.grants]             # the same keys as a manifest's [capabilities]
/// storage.kv = true
///
/// [gateway]                       # the HTTP gateway (see GatewaySettings for every key)
/// listen = "127.0.0.1:7420"
///
/// [federation]                    # links with other nodes (see FederationSettings)
/// listen = "127.0.0.1:7421"
///
/// [fetch]                         # net_request: extra certificate authorities, response size (see FetchSettings)
/// [packages]                      # signed packages: size, versions kept, upgrade timeout (see PackageSettings)
/// [backup]                        # encrypted backups: key file, directory, schedule, retention (see BackupSettings)
/// [migration]                     # apps moving here from other nodes, and the pace they leave at (see MigrationSettings)
///
/// [events]                        # the node's event log (node.db)
/// retention_days = 7              # events older than this are deleted, delivered or not
/// max_events = 1000000            # past this many, the oldest go first
/// ```
/// An app's effective capabilities are its manifest's requests intersected with these grants.
public struct NodeConfig: Sendable, Equatable {
    /// One app's entry.
    public struct App: Sendable, Equatable {
        public var enabled = true
        /// The sandbox profile the node owner assigns; nil falls back to the manifest's request.
        public var profile: String?
        /// The app database's size limit.
        public var storageQuotaMB = 64
        /// How many bytes of the app's events `node.db` keeps; at the limit its oldest delivered events go first,
        /// and `event_emit` answers SYN_E_QUOTA while undelivered ones fill it.
        public var eventsQuotaMB = 64
        /// How many bytes of the app's pending timers `node.db` keeps.
        public var timersQuotaMB = 8
        /// How many bytes of the app's `net_send` messages `node.db` keeps until their peers acknowledge them.
        public var outboxQuotaMB = 16
        /// App log lines the node writes per second (bursts of twice that); the rest are dropped and counted.
        public var logLinesPerSecond = 100
        /// Calls to other apps (`app_call`) the app may make a minute, in bursts of as many; each is audited.
        public var appCallsPerMinute = 3_000
        public var grants = AppManifest.Capabilities()
        public init() {}
    }

    public var name = "syneroym-node"
    public var owners: [String] = []
    /// Free space (MiB) the node keeps on its data directory's file system: below it, app calls are refused
    /// (507) while audit and management writes go on.
    public var reserveMB = 128
    public var apps: [String: App] = [:]
    /// The HTTP gateway's address and limits.
    public var gateway = GatewaySettings()
    /// Links with other nodes: where to accept them, whom, and their limits.
    public var federation = FederationSettings()
    public var fetch = FetchSettings()
    public var packages = PackageSettings()
    public var backup = BackupSettings()
    public var migration = MigrationSettings()
    /// How long the event log keeps an event, delivered or not.
    public var eventRetentionDays = 7
    /// The most events the log keeps; the oldest go first.
    public var maxEvents = 1_000_000
    /// The file it was loaded from.
    public var path: String?

    public init() {}

    public static func load(path: String) throws(ConfigError) -> NodeConfig {
        var config = try parse(TextFile.read(path: path), file: path)
        config.path = path
        return config
    }

    public static func parse(_ text: String, file: String) throws(ConfigError) -> NodeConfig {
        let root = try TableReader.root(text: text, file: file)
        try root.allowOnly(["node", "apps", "events", "gateway", "federation", "fetch", "packages", "backup", "migration"])
        var config = NodeConfig()
        if let gateway = try root.table("gateway", keys: GatewaySettings.keys) {
            config.gateway = try GatewaySettings.parse(gateway)
        }
        if let backup = try root.table("backup", keys: BackupSettings.keys) {
            config.backup = try BackupSettings.parse(backup)
        }
        if let migration = try root.table("migration", keys: MigrationSettings.keys) {
            config.migration = try MigrationSettings.parse(migration)
        }
        if let packages = try root.table("packages", keys: PackageSettings.keys) {
            config.packages = try PackageSettings.parse(packages)
        }
        if let fetch = try root.table("fetch", keys: FetchSettings.keys) {
            config.fetch = try FetchSettings.parse(fetch)
        }
        if let federation = try root.table("federation", keys: FederationSettings.keys) {
            config.federation = try FederationSettings.parse(federation)
        }
        if let node = try root.table("node", keys: ["name", "owners", "reserve_mb"]) {
            config.name = try node.string("name") ?? config.name
            config.reserveMB = try node.integer("reserve_mb", in: 0...1_048_576) ?? config.reserveMB
            config.owners = try node.strings("owners") ?? []
            for (index, key) in config.owners.enumerated() where key.utf8.count != 43 {
                throw node.error(.badValue, "owners", element: index,
                                 "node.owners entries are base64url ed25519 public keys (43 characters), got \"\(key)\"")
            }
        }
        if let events = try root.table("events", keys: ["retention_days", "max_events"]) {
            config.eventRetentionDays = try events.integer("retention_days", in: 1...3650) ?? config.eventRetentionDays
            config.maxEvents = try events.integer("max_events", in: 1000...1_000_000_000) ?? config.maxEvents
        }
        if let apps = try root.table("apps", keys: nil) {
            for id in apps.keysInFileOrder() {
                guard NameRules.isAppID(id) else {
                    throw apps.error(.badValue, id, "[apps.\(id)]: app ids match ^[a-z][a-z0-9_-]{0,62}$")
                }
                guard let table = try apps.table(id, keys: ["enabled", "profile", "storage_quota_mb", "events_quota_mb",
                                                           "timers_quota_mb", "outbox_quota_mb", "log_lines_per_s", "app_calls_per_minute", "grants"]) else {
                    continue
                }
                var app = App()
                app.enabled = try table.bool("enabled") ?? true
                if let profile = try table.string("profile") {
                    guard NameRules.isProfileName(profile) else {
                        throw table.error(.badValue, "profile", "apps.\(id).profile must match ^[a-z0-9][a-z0-9_-]{0,62}$, got \"\(profile)\"")
                    }
                    app.profile = profile
                }
                app.storageQuotaMB = try table.integer("storage_quota_mb", in: 1...1_048_576) ?? app.storageQuotaMB
                app.eventsQuotaMB = try table.integer("events_quota_mb", in: 1...1_048_576) ?? app.eventsQuotaMB
                app.timersQuotaMB = try table.integer("timers_quota_mb", in: 1...65_536) ?? app.timersQuotaMB
                app.outboxQuotaMB = try table.integer("outbox_quota_mb", in: 1...1_048_576) ?? app.outboxQuotaMB
                app.logLinesPerSecond = try table.integer("log_lines_per_s", in: 1...100_000) ?? app.logLinesPerSecond
                app.appCallsPerMinute = try table.integer("app_calls_per_minute", in: 1...1_000_000) ?? app.appCallsPerMinute
                if let grants = try table.table("grants", keys: ["identity", "storage", "net", "timers", "events", "messages", "calls"]) {
                    app.grants = try ManifestParser.parseCapabilities(grants)
                }
                config.apps[id] = app
            }
        }
        return config
    }
}
