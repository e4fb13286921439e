import SynRuntime
import Testing

/// Which version an install may replace: Semantic Versioning's order, tolerant of what is not quite semver.
@Suite struct VersionOrderTests {
    @Test(arguments: [
        ("1.0.0", "1.0.1"), ("0.9.2", "0.10.0"), ("1.0.0-rc1", "1.0.0"), ("1.0.0-alpha", "1.0.0-beta"),
        ("1.0.0-2", "1.0.0-10"), ("1.0.0-9", "1.0.0-rc"), ("1.0", "1.0.1"), ("2.0.0", "10.0.0"),
        ("1.0.0-rc.1", "1.0.0-rc.2"), ("99999999999999999999.0", "100000000000000000000.0"),
    ])
    func older(_ pair: (String, String)) {
        #expect(VersionOrder.compare(pair.0, pair.1) == -1)
        #expect(VersionOrder.compare(pair.1, pair.0) == 1)
    }

    @Test(arguments: [("1.0.0", "1.0.0"), ("1.0.0+build.5", "1.0.0"), ("1.01", "1.1"), ("1.0.0-rc1+x", "1.0.0-rc1")])
    func same(_ pair: (String, String)) {
        #expect(VersionOrder.compare(pair.0, pair.1) == 0)
    }
}
