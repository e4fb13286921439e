import SynBroker
import SynSandbox
import SynTestSupport
import Testing

/// Per-app footprints, counted by the supervisor and the broker.
@Suite struct FootprintTests {
    @Test func footprintsCountCallsErrorsDeathsDenialsEventsStorageAndCPU() async throws {
        // No outbox flush during the test, however slow the machine: a flush is a call, and would be counted.
        let running = try EventTests.Running(try BrokerNode(grants: "storage.kv = true", apps: ["store"],
                                                            capabilities: ["store": "events.publish = [\"shop.*\"]"]),
                                             idleNs: 3_600_000_000_000)
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
}
