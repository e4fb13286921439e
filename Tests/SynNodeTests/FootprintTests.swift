import Foundation
import SynTestSupport
import SynBroker
import SynSandbox
import Testing

/// Per-app footprints as `syneroym apps stats` shows them.
@Suite struct FootprintTests {
    @Test func appsStatsReadsWhatTheNodeWrote() throws {
        let (node, stderr, seen, data) = try HostDeathTests.startNode()
        #expect(seen.contains("event=started("), "\(seen)")
        node.signal(SIGTERM)
        _ = HostDeathTests.readUntil("node stopped", from: stderr)
        node.wait()
        let r = try CLI.syneroym(["apps", "stats", "--json", "--data", data])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let hello = try #require((object["apps"] as? [String: Any])?["hello"] as? [String: Any])
        #expect(hello["calls"] as? Int == 0)
        #expect(hello["deaths"] as? [String: Int] == [:])
        let table = try CLI.syneroym(["apps", "stats", "--data", data])
        #expect(table.stdout.contains("hello"))
        let missing = try CLI.syneroym(["apps", "stats", "--data", data + "/nope"])
        #expect(missing.status == 2 && missing.stderr.contains("no statistics"))
    }
}
