/// `node.toml [migration]`: apps moving between nodes over their links (`syneroym apps migrate APP --to PEER`).
///
/// ```toml
/// [migration]
/// accept_from = []            # node ids that may move apps to this node (none unless listed)
/// max_mb = 4096               # the largest app taken: its package, database and identity, as sent
/// grant_requested = false     # true: an app moved here gets what its manifest requests; false: nothing, and it
///                             # waits disabled for the owner (`syneroym apps enable`)
/// max_send_kb_per_s = 0       # the pace this node sends apps at, so a move leaves room on a home uplink (0: no cap)
/// ```
public struct MigrationSettings: Sendable, Equatable {
    public var acceptFrom: [String] = []
    public var maxMB = 4096
    public var grantRequested = false
    public var maxSendKBPerSecond = 0

    public init() {}

    static let keys = ["accept_from", "max_mb", "grant_requested", "max_send_kb_per_s"]

    static func parse(_ table: TableReader) throws(ConfigError) -> MigrationSettings {
        var m = MigrationSettings()
        m.acceptFrom = try table.strings("accept_from", maxCount: 1000) ?? []
        for (index, id) in m.acceptFrom.enumerated() where !NameRules.isNodeID(id) {
            throw table.error(.badValue, "accept_from", element: index,
                              "migration.accept_from entries are node ids (43 characters of base64url, as `syneroym peers invite` prints before '@'), got \"\(id.prefix(64))\"")
        }
        try table.requireUnique(m.acceptFrom, "accept_from")
        m.maxMB = try table.integer("max_mb", in: 1...1_048_576) ?? m.maxMB
        m.grantRequested = try table.bool("grant_requested") ?? m.grantRequested
        m.maxSendKBPerSecond = try table.integer("max_send_kb_per_s", in: 0...10_485_760) ?? m.maxSendKBPerSecond
        return m
    }
}
