import Foundation
import SynConfig
import Testing

/// node.toml grants, intersected with manifest requests; every denial names the key that would grant it.
@Suite struct PolicyTests {
    static let manifestText = """
        [app]
        id = "shop"
        name = "Shop"
        version = "1"
        abi = 1
        library = "libshop.so"
        [capabilities]
        storage.kv = true
        storage.sql = true
        identity.sign = true
        events.publish = ["shop.order.*"]
        net.fetch = ["https://api.example.org"]
        calls = ["homeservices:quotes.accept", "foodmesh:orders.*", "ledger:*"]
        """

    static let nodeText = """
        [node]
        name = "guild"
        [apps.shop]
        profile = "default"
        storage_quota_mb = 8
        [apps.shop.grants]
        storage.kv = true
        identity.sign = true
        timers = true
        events.publish = ["shop.*"]
        net.fetch = ["https://api.example.org/v1"]
        calls = ["homeservices:quotes.accept", "foodmesh:orders.place", "ledger:*"]
        """

    func policy() throws -> Policy {
        var manifest = try AppManifest.parse(Self.manifestText, file: "manifests/shop.toml")
        manifest.path = "manifests/shop.toml"
        var node = try NodeConfig.parse(Self.nodeText, file: "/data/node.toml")
        node.path = "/data/node.toml"
        return Policy(manifest: manifest, node: node)
    }

    @Test func nodeConfigParses() throws {
        let node = try NodeConfig.parse(Self.nodeText, file: "node.toml")
        #expect(node.name == "guild")
        #expect(node.apps["shop"]?.storageQuotaMB == 8)
        #expect(node.apps["shop"]?.grants.storageKV == true)
        #expect(node.apps["shop"]?.grants.storageSQL == false)
    }

    @Test func grantedAndRequestedIsAllowed() throws {
        let p = try policy()
        #expect(p.denial(.storageKV) == nil)
        #expect(p.denial(.identitySign) == nil)
        #expect(p.denial(.eventsPublish(type: "shop.order.paid")) == nil)
        #expect(p.denial(.netFetch(url: "https://api.example.org/v1/items?x=1")) == nil)
    }

    @Test func notGrantedNamesTheNodeKey() throws {
        #expect(try policy().denial(.storageSQL)
            == "storage.sql is not granted to app 'shop': set `storage.sql = true` under [apps.shop.grants] in /data/node.toml")
    }

    @Test func notRequestedNamesTheManifestKey() throws {
        #expect(try policy().denial(.timers)
            == "timers is not requested by app 'shop': add `timers = true` under [capabilities] in manifests/shop.toml")
    }

    @Test func patternsAndURLsNeedBothSides() throws {
        let p = try policy()
        #expect(p.denial(.eventsPublish(type: "other.thing"))?.contains("[capabilities] in manifests/shop.toml") == true)
        #expect(p.denial(.eventsPublish(type: "shop.cart.added"))?.contains("[capabilities] in manifests/shop.toml") == true)
        #expect(p.denial(.netFetch(url: "https://api.example.org/v2/x"))?.contains("[apps.shop.grants]") == true)
        #expect(p.denial(.netFetch(url: "https://api.example.org.evil.net/v1")) != nil)
    }

    /// `calls` (ABI minor 1): `app:method`, `app:prefix.*` and `app:*`, requested and granted.
    @Test func callsNeedBothSides() throws {
        let p = try policy()
        #expect(p.denial(.call(app: "homeservices", method: "quotes.accept")) == nil)
        #expect(p.denial(.call(app: "foodmesh", method: "orders.place")) == nil)
        #expect(p.denial(.call(app: "ledger", method: "entries.add")) == nil)
        #expect(p.denial(.call(app: "foodmesh", method: "orders.cancel"))?.contains("[apps.shop.grants]") == true)
        #expect(p.denial(.call(app: "homeservices", method: "quotes.decline"))?.contains("[capabilities] in manifests/shop.toml") == true)
        // A prefix covers methods under it, not the app's others, and never another app with the same start.
        #expect(Policy.callMatches("foodmesh:orders.*", "foodmesh:orders.x.y"))
        #expect(!Policy.callMatches("foodmesh:orders.*", "foodmesh:ordersx"))
        #expect(!Policy.callMatches("food:*", "foodmesh:orders.place"))
        #expect(!Policy.callMatches("foodmesh:*", "foodmesh:"))
    }

    @Test(arguments: ["homeservices", "Home:quotes.accept", "home:quotes..accept;", ":x", "home:", "home:a*", "home:*.x"])
    func aMalformedCallsEntryIsRefusedWithTheExpectedShape(_ entry: String) throws {
        let text = Self.manifestText.replacingOccurrences(of: "calls = [\"homeservices:quotes.accept\", \"foodmesh:orders.*\", \"ledger:*\"]",
                                                          with: "calls = [\"\(entry)\"]")
        #expect(throws: ConfigError.self) { try AppManifest.parse(text, file: "m.toml") }
    }

    @Test func topicPatterns() {
        #expect(Policy.topicMatches("a.b.*", "a.b.c"))
        #expect(Policy.topicMatches("a.b.*", "a.b.c.d"))
        #expect(!Policy.topicMatches("a.b.*", "a.b"))
        #expect(!Policy.topicMatches("a.b.*", "a.bc.d"))
        #expect(Policy.topicMatches("a.b", "a.b"))
        #expect(!Policy.topicMatches("a.b", "a.b.c"))
    }

    @Test func anUnlistedAppGetsNothing() throws {
        var manifest = try AppManifest.parse(Self.manifestText.replacingOccurrences(of: "\"shop\"", with: "\"other\""),
                                             file: "m.toml")
        manifest.path = "m.toml"
        let p = Policy(manifest: manifest, node: try NodeConfig.parse(Self.nodeText, file: "node.toml"))
        #expect(p.denial(.storageKV)?.contains("[apps.other.grants]") == true)
    }

    @Test func badNodeConfigIsLocated() {
        #expect(throws: ConfigError.self) { try NodeConfig.parse("[apps.shop]\nstorage_quota_mb = -1\n", file: "n.toml") }
        do { _ = try NodeConfig.parse("[apps.shop]\nstorage_quota_mb = -1\n", file: "n.toml") } catch {
            #expect(error.line == 2)
            #expect(error.key == "apps.shop.storage_quota_mb")
        }
        do { _ = try NodeConfig.parse("[apps.shop.grants]\nstorage.kvv = true\n", file: "n.toml") } catch {
            #expect(error.code == .unknownKey)
            #expect(error.line == 2)
        }
    }
}

@Suite struct NodeEventsConfigTests {
    @Test func retentionKeysParseAndAreBounded() throws {
        let config = try NodeConfig.parse("[events]\nretention_days = 30\nmax_events = 5000\n", file: "node.toml")
        #expect(config.eventRetentionDays == 30 && config.maxEvents == 5000)
        #expect(NodeConfig().eventRetentionDays == 7 && NodeConfig().maxEvents == 1_000_000)
        #expect(throws: ConfigError.self) { try NodeConfig.parse("[events]\nretention_days = 0\n", file: "node.toml") }
        #expect(throws: ConfigError.self) { try NodeConfig.parse("[events]\nkeep = 1\n", file: "node.toml") }
    }
}

@Suite struct GatewaySettingsTests {
    @Test func theGeneratedNodeTomlParsesWithTheDefaults() throws {
        let config = try NodeConfig.parse(NodeConfig.granting([]), file: "node.toml")
        #expect(config.gateway == GatewaySettings())
        #expect(config.gateway.hostAndPort! == ("127.0.0.1", 7420))
        #expect(config.eventRetentionDays == 7)
    }

    @Test func limitsAreReadAndChecked() throws {
        let config = try NodeConfig.parse("[gateway]\nlisten = \"0.0.0.0:8080\"\nmax_body_kb = 64\nretry_after_s = 5\n", file: "node.toml")
        #expect(config.gateway.maxBodyKB == 64 && config.gateway.retryAfterS == 5)
        #expect(config.gateway.hostAndPort! == ("0.0.0.0", 8080))
        for bad in ["listen = \"nowhere\"", "listen = \"h:99999\"", "max_body_kb = 0", "unknown_limit = 1"] {
            #expect(throws: ConfigError.self, "\(bad)") { try NodeConfig.parse("[gateway]\n\(bad)\n", file: "node.toml") }
        }
    }

    /// `net.peers` is `true` (any peer the owner added) or a list of node ids on either side; a peer must pass both.
    @Test func netPeersMayNameTheNodes() throws {
        let a = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs", b = "oQKnoqMNXGnSmzy5TVN5sirOsEP3nZR55MKsoUILWRA"
        let manifest = try AppManifest.parse(PolicyTests.manifestText.replacingOccurrences(of: "[capabilities]\n", with: "[capabilities]\nnet.peers = [\"\(a)\", \"\(b)\"]\n"),
                                             file: "manifests/shop.toml")
        #expect(manifest.capabilities.netPeerIDs == [a, b])
        let anyPeer = try NodeConfig.parse(PolicyTests.nodeText + "\nnet.peers = true\n", file: "/data/node.toml")
        #expect(Policy(manifest: manifest, node: anyPeer).denial(.netPeer(a)) == nil)
        let onlyB = try NodeConfig.parse(PolicyTests.nodeText + "\nnet.peers = [\"\(b)\"]\n", file: "/data/node.toml")
        let denial = Policy(manifest: manifest, node: onlyB).denial(.netPeer(a))
        #expect(denial?.contains("[apps.shop.grants]") == true, "\(denial ?? "")")
        #expect(Policy(manifest: manifest, node: onlyB).denial(.netPeer(b)) == nil)
        let c = String(repeating: "C", count: 43)
        #expect(Policy(manifest: manifest, node: anyPeer).denial(.netPeer(c))?.contains("capabilities") == true)
        #expect(throws: ConfigError.self) {
            try AppManifest.parse(PolicyTests.manifestText.replacingOccurrences(of: "[capabilities]\n", with: "[capabilities]\nnet.peers = [\"short\"]\n"), file: "m.toml")
        }
    }
}
