/// `node.toml [backup]`: the node's own encrypted backups (`syneroym backup`, and a schedule).
///
/// ```toml
/// [backup]
/// key_file = "/etc/syneroym/backup.key"   # 32 random bytes (`syneroym backup --make-key FILE`) or a passphrase
/// directory = "/var/backups/syneroym"     # where archives go (default <data>/backups)
/// every_hours = 24                        # a backup this often; 0: only when asked
/// keep = 7                                # archives kept in the directory; older ones are removed
/// alert_hours = 26                        # no successful backup for this long shows in doctor, /v1/health, /metrics
/// ```
public struct BackupSettings: Sendable, Equatable {
    public var keyFile: String?
    public var directory: String?
    public var everyHours = 0
    public var keep = 7
    public var alertHours = 26

    public init() {}

    static let keys = ["key_file", "directory", "every_hours", "keep", "alert_hours"]

    static func parse(_ table: TableReader) throws(ConfigError) -> BackupSettings {
        var b = BackupSettings()
        for key in ["key_file", "directory"] {
            if let path = try table.string(key) {
                guard path.hasPrefix("/") else { throw table.error(.badValue, key, "backup.\(key) must be an absolute path, got \"\(path)\"") }
                if key == "key_file" { b.keyFile = path } else { b.directory = path }
            }
        }
        b.everyHours = try table.integer("every_hours", in: 0...8760) ?? b.everyHours
        b.keep = try table.integer("keep", in: 1...1000) ?? b.keep
        b.alertHours = try table.integer("alert_hours", in: 1...87600) ?? b.alertHours
        if b.everyHours > 0 && b.keyFile == nil {
            throw table.error(.missingKey, "key_file", "backup.every_hours schedules backups, which need backup.key_file (make one with `syneroym backup --make-key /etc/syneroym/backup.key`)")
        }
        return b
    }
}
