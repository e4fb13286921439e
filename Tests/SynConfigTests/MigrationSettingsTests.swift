import SynConfig
import Testing

/// `node.toml [migration]`: by default no node may move an app here; every key, and a clear error for each bad value.
@Suite struct MigrationSettingsTests {
    @Test func withoutTheSectionNoNodeMayMoveAnAppHere() throws {
        let m = try NodeConfig.parse("[node]\nname = \"n\"\n", file: "node.toml").migration
        #expect(m == MigrationSettings())
        #expect(m.acceptFrom.isEmpty && !m.grantRequested && m.maxMB == 4096 && m.maxSendKBPerSecond == 0)
    }

    @Test func everyKeyIsRead() throws {
        let m = try NodeConfig.parse("""
            [migration]
            accept_from = ["\(FederationSettingsTests.nodeID)"]
            max_mb = 100
            grant_requested = true
            max_send_kb_per_s = 512
            """, file: "node.toml").migration
        #expect(m.acceptFrom == [FederationSettingsTests.nodeID] && m.maxMB == 100 && m.grantRequested && m.maxSendKBPerSecond == 512)
    }

    @Test(arguments: [
        ("accept_from = [\"*\"]", "migration.accept_from entries are node ids"),
        ("accept_from = [\"\(FederationSettingsTests.nodeID)\", \"\(FederationSettingsTests.nodeID)\"]", "more than once"),
        ("max_mb = 0", "max_mb"),
        ("grant_requested = \"yes\"", "grant_requested"),
        ("max_send_kb_per_s = -1", "max_send_kb_per_s"),
        ("from = []", "from"),
    ])
    func aBadValueNamesTheKey(_ line: String, _ expected: String) {
        do {
            _ = try NodeConfig.parse("[migration]\n\(line)\n", file: "node.toml")
            Issue.record("\(line) was accepted")
        } catch {
            #expect("\(error)".contains(expected), "\(error)")
        }
    }
}
