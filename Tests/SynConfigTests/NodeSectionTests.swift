import SynConfig
import Testing

/// The node.toml section written for an app (`apps add`, `apps install`): what a manifest requests stays what it is,
/// whatever characters it holds.
@Suite struct NodeSectionTests {
    @Test func aURLWithQuotesAndBackslashesStaysOneEntry() throws {
        let manifest = try AppManifest.parse(#"""
            [app]
            id = "fetcher"
            name = "Fetcher"
            version = "1.0.0"
            abi = 1
            library = "libfetcher.so"
            [capabilities]
            net.fetch = ["https://a.example/q\"],x=[\"", "https://b.example/back\\slash"]
            """#, file: "fetcher.toml")
        #expect(manifest.capabilities.netFetch.count == 2)
        let granted = try NodeConfig.parse(NodeConfig.section(granting: manifest), file: "node.toml")
        #expect(granted.apps["fetcher"]?.grants.netFetch == manifest.capabilities.netFetch)
        let nothing = try NodeConfig.parse(NodeConfig.section(for: manifest, granting: AppManifest.Capabilities(), enabled: false), file: "node.toml")
        #expect(nothing.apps["fetcher"]?.grants.netFetch == [] && nothing.apps["fetcher"]?.enabled == false)
    }
}
