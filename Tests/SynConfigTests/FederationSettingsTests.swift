import SynConfig
import Testing

/// `node.toml [federation]`: defaults, every key, and a clear error for each bad value.
@Suite struct FederationSettingsTests {
    static let nodeID = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"

    @Test func withoutTheSectionTheNodeAcceptsNoLink() throws {
        let config = try NodeConfig.parse("[node]\nname = \"n\"\n", file: "node.toml")
        #expect(config.federation == FederationSettings())
        #expect(config.federation.listen == nil && config.federation.hostAndPort == nil)
        #expect(!config.federation.acceptsUnknown(Self.nodeID))
    }

    @Test func everyKeyIsRead() throws {
        let config = try NodeConfig.parse("""
            [federation]
            listen = "0.0.0.0:7421"
            accept = ["\(Self.nodeID)"]
            max_frame_kb = 256
            window = 64
            max_links = 8
            """, file: "node.toml")
        let f = config.federation
        #expect(f.hostAndPort?.host == "0.0.0.0" && f.hostAndPort?.port == 7421)
        #expect(f.acceptsUnknown(Self.nodeID) && !f.acceptsUnknown(String(repeating: "A", count: 43)))
        #expect(f.maxFrameKB == 256 && f.window == 64 && f.maxLinks == 8)
        #expect(try NodeConfig.parse("[federation]\naccept = [\"*\"]\n", file: "node.toml").federation.acceptsUnknown(Self.nodeID))
    }

    @Test(arguments: [
        ("listen = \"7421\"", "federation.listen must be host:port"),
        ("accept = [\"not-a-key\"]", "federation.accept entries are node ids"),
        ("max_frame_kb = 1", "max_frame_kb"),
        ("window = 0", "window"),
        ("color = \"blue\"", "color"),
    ])
    func aBadValueNamesTheKey(_ line: String, _ expected: String) {
        do {
            _ = try NodeConfig.parse("[federation]\n\(line)\n", file: "node.toml")
            Issue.record("\(line) was accepted")
        } catch {
            #expect("\(error)".contains(expected), "\(error)")
        }
    }
}
