/// `node.toml [packages]`: how the node takes signed `.synapp` packages (`syneroym apps install`).
///
/// ```toml
/// [packages]
/// max_package_mb = 256     # the largest package accepted
/// keep_versions = 3        # installed versions kept per app (their packages and pre-upgrade database snapshots)
/// upgrade_timeout_s = 60   # how long a new version has to start (init, migrations) and pass its health probe
/// ```
public struct PackageSettings: Sendable, Equatable {
    public var maxPackageMB = 256
    public var keepVersions = 3
    public var upgradeTimeoutS = 60

    public init() {}

    static let keys = ["max_package_mb", "keep_versions", "upgrade_timeout_s"]

    static func parse(_ table: TableReader) throws(ConfigError) -> PackageSettings {
        var p = PackageSettings()
        p.maxPackageMB = try table.integer("max_package_mb", in: 1...1024) ?? p.maxPackageMB
        p.keepVersions = try table.integer("keep_versions", in: 2...100) ?? p.keepVersions
        p.upgradeTimeoutS = try table.integer("upgrade_timeout_s", in: 5...3600) ?? p.upgradeTimeoutS
        return p
    }
}
