import Foundation
import SynBroker
import SynConfig
import SynSandbox
import Testing

/// Seen: one app looping `event_emit` grew node.db by about 112 MB/s, and 9,952 timers took 657 MB. Each app's
/// events and timers in node.db are now bounded by its own quotas in node.toml.
@Suite struct SharedQuotaTests {
    static let events = "events.publish = [\"shop.*\"]"

    /// With no subscriber waiting, an app's events are delivered as soon as they are stored: its oldest go first,
    /// and what it keeps never passes its quota however long it emits.
    @Test func anAppsEventsStayWithinItsQuota() throws {
        let node = try BrokerTests.Node(capabilities: ["store": Self.events], settings: "events_quota_mb = 2")
        defer { node.broker.close() }
        let w = try node.start()
        defer { w.shutdown() }
        for _ in 0..<8 {
            let answer = try BrokerTests.call(w, "emit_big")
            #expect(answer.hasPrefix("17 then -4 event_emit: one request may emit at most"), "\(answer)")
            #expect(node.broker.events.usage(of: "store").events <= 2 << 20)
        }
        // 8 × 17 events of 60 KiB (7.8 MiB) were emitted; about 2 MiB of the newest are kept.
        #expect(node.broker.events.usage(of: "store").events > (2 << 20) - 2 * 60_100)
    }

    /// A subscriber that receives nothing: the app's undelivered events fill its quota, then `event_emit` answers
    /// SYN_E_QUOTA naming the key, and node.db holds no more.
    @Test func undeliveredEventsFillTheQuotaThenEmitIsRefused() throws {
        let node = try BrokerTests.Node(capabilities: ["store": Self.events], settings: "events_quota_mb = 2")
        defer { node.broker.close() }
        node.broker.events.noteSubscriber("never-reads")
        let w = try node.start()
        defer { w.shutdown() }
        var refusal = ""
        for _ in 0..<5 where refusal.isEmpty {
            let answer = try BrokerTests.call(w, "emit_big")
            if answer.contains("-4 event_emit: app 'store' keeps") { refusal = answer }
        }
        #expect(refusal.contains("its quota (node.toml apps.store.events_quota_mb = 2); new ones wait until its subscribers catch up"),
                "\(refusal)")
        #expect(node.broker.events.usage(of: "store").events <= 2 << 20)
        #expect(try BrokerTests.call(w, "emit_big").hasPrefix("0 then -4 event_emit: app 'store' keeps"))
    }

    @Test func pendingTimersStayWithinTheirQuota() throws {
        let node = try BrokerTests.Node(capabilities: ["store": "timers = true"], settings: "timers_quota_mb = 1")
        defer { node.broker.close() }
        let w = try node.start()
        defer { w.shutdown() }
        var refusal = ""
        for _ in 0..<5 where refusal.isEmpty {
            let answer = try BrokerTests.call(w, "timer_big")
            if answer.contains("-4 timer_set: app 'store''s pending timers take") { refusal = answer }
        }
        #expect(refusal.contains("its quota (node.toml apps.store.timers_quota_mb = 1)"), "\(refusal)")
        #expect(node.broker.events.usage(of: "store").timers <= 1 << 20)
        #expect(node.broker.events.pendingTimerCount(for: "store") <= 17)
    }

    @Test func theQuotasAreNodeTomlKeysWithBounds() throws {
        let config = try NodeConfig.parse("[apps.a]\nevents_quota_mb = 5\ntimers_quota_mb = 2\nlog_lines_per_s = 7\n[node]\nreserve_mb = 64", file: "node.toml")
        #expect(config.apps["a"]?.eventsQuotaMB == 5 && config.apps["a"]?.timersQuotaMB == 2)
        #expect(config.apps["a"]?.logLinesPerSecond == 7 && config.reserveMB == 64)
        #expect(throws: ConfigError.self) { try NodeConfig.parse("[apps.a]\nevents_quota_mb = 0", file: "node.toml") }
        #expect(throws: ConfigError.self) { try NodeConfig.parse("[apps.a]\nlog_lines_per_s = 1000000", file: "node.toml") }
    }
}
