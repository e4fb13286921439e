import Foundation
import SynTestSupport
import SynBroker
import SynSandbox
import Testing

/// Per-app footprints: counted by the supervisor and the broker, shown by `syneroym apps stats`.
@Suite struct FootprintTests {
    @Test func footprintsCountCallsErrorsDeathsDenialsEventsStorageAndCPU() async throws {
        let running = try EventTests.Running(try BrokerTests.Node(grants: "storage.kv = true", apps: ["store"],
                                                                  capabilities: ["store": "events.publish = [\"shop.*\"]"]))
        defer { running.stop() }
        _ = try await running.call("store", "put", "k=v")                        // ok
        _ = try await running.call("store", "emit", #"shop.order.paid|{"n":1}"#) // ok, one event
        _ = try await running.call("store", "sql", "CREATE TABLE t(x)")          // denied (no storage.sql grant)
        _ = try await running.call("store", "put_two_then_500", "x")             // an error (500)
        _ = try? await running.call("store", "put_two_then_crash", "x")          // a death
        _ = try await running.call("store", "put", "k2=v")                       // served by the restarted worker
        let supervisor = try #require(running.supervisors["store"])
        let f = running.node.broker.complete(supervisor.footprint, of: "store")
        #expect(f.calls == 6)
        #expect(f.errors == 2)
        #expect(f.deaths == ["crash": 1])
        #expect(f.denials == 1)
        #expect(f.eventsEmitted == 1)
        #expect(f.storageBytes > 0)
        #expect(f.wallMs > 0)
        #expect(f.cpuMs >= 0)
    }

    @Test func appsStatsReadsWhatTheNodeWrote() throws {
        let (node, stderr, seen, data) = try HostDeathTests.startNode()
        #expect(seen.contains("event=started("), "\(seen)")
        node.signal(SIGTERM)
        _ = HostDeathTests.readUntil("node stopped", from: stderr)
        node.wait()
        let r = try ExecCommandTests.syneroym(["apps", "stats", "--json", "--data", data])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let hello = try #require((object["apps"] as? [String: Any])?["hello"] as? [String: Any])
        #expect(hello["calls"] as? Int == 0)
        #expect(hello["deaths"] as? [String: Int] == [:])
        let table = try ExecCommandTests.syneroym(["apps", "stats", "--data", data])
        #expect(table.stdout.contains("hello"))
        let missing = try ExecCommandTests.syneroym(["apps", "stats", "--data", data + "/nope"])
        #expect(missing.status == 2 && missing.stderr.contains("no statistics"))
    }
}
