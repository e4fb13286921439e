import SynConfig
import SynFetch
import Testing

/// What `net_request` may connect to without a grant naming the address, and how its URLs are read.
@Suite struct AddressRulesTests {
    @Test func onlyPublicUnicastAddressesArePublic() {
        for address in ["127.0.0.1", "127.1.2.3", "10.0.0.5", "172.16.0.1", "172.31.255.255", "192.168.1.20", "169.254.169.254",
                        "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1",
                        "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
                        "2001:db8::1", "64:ff9b::a00:1", "not an address"] {
            #expect(!AddressRules.isPublic(address), "\(address)")
        }
        for address in ["1.1.1.1", "93.184.216.34", "172.32.0.1", "192.169.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            #expect(AddressRules.isPublic(address), "\(address)")
        }
    }

    @Test func urlsAreReadStrictly() {
        #expect(FetchURL("https://api.example.org/v1/x?y=1")?.description == "https://api.example.org/v1/x?y=1")
        #expect(FetchURL("https://[::1]:8443")?.host == "::1")
        #expect(FetchURL("https://Example.ORG:443/")?.description == "https://example.org/")
        for bad in ["http://example.org/", "https://user@example.org/", "https://example.org/#x", "https://example.org:0/",
                    "https://example.org:99999/", "https:///path", "https://exa mple.org/", "https://example.org\\@evil/"] {
            #expect(FetchURL(bad) == nil, "\(bad)")
        }
        let base = FetchURL("https://a.example/dir/page?q=1")
        #expect(base?.resolve("/root")?.description == "https://a.example/root")
        #expect(base?.resolve("other")?.description == "https://a.example/dir/other")
        #expect(base?.resolve("https://b.example/x")?.description == "https://b.example/x")
        #expect(base?.resolve("http://b.example/x") == nil)
    }
}
