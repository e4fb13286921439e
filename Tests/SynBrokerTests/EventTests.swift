import Foundation
@testable import SynBroker
import SynConfig
import SynSandbox
import SynSystem
import SynWire
import SynTestSupport
import Testing

/// Domain events and timers through real supervisors, workers and the durable log in node.db.
@Suite struct EventTests {
    /// A running node: supervisors for each app, the broker and the dispatcher.
    final class Running {
        let node: BrokerNode
        let dispatcher: EventDispatcher
        var supervisors: [String: AppSupervisor] = [:]

        /// `idleNs`: how often the dispatcher flushes apps' outboxes (each flush is a call the app's footprint counts).
        init(_ node: BrokerNode, idleNs: Int64 = 30_000_000_000) throws {
            self.node = node
            dispatcher = EventDispatcher(store: node.broker.events, idleNs: idleNs)
            let d = dispatcher
            node.broker.onCommit = { d.notify() }
            for (app, manifest) in node.manifests {
                let s = AppSupervisor(spec: try node.spec(app), policy: SupervisorPolicy(initialBackoffMs: 10),
                                      hostCalls: node.broker)
                s.start()
                supervisors[app] = s
                dispatcher.attach(app: app, policy: Policy(manifest: manifest, node: try NodeConfig.load(path: node.data + "/node.toml")),
                                  supervisor: s)
            }
        }

        func call(_ app: String, _ method: String, _ body: String = "") async throws -> String {
            let reply = try await supervisors[app]!.call(method: method, body: Array(body.utf8))
            return String(decoding: reply.body, as: UTF8.self)
        }

        /// Polls `app`'s KV scan of `prefix` until it contains `needle` (bounded: 20 s), returning the last page.
        func waitFor(_ app: String, prefix: String, containing needle: String) async throws -> String {
            var page = ""
            for _ in 0..<2000 {
                page = try await call(app, "scan", prefix)
                if page.contains(needle) { return page }
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            return page
        }

        func stop() {
            dispatcher.stop()
            for s in supervisors.values { s.stop() }
        }
    }

    static let pubsub = ["store": "events.publish = [\"shop.*\"]\ntimers = true",
                         "other": "events.subscribe = [\"shop.order.*\"]"]

    @Test func aSubscriberReceivesCommittedEventsOnly() async throws {
        let running = try Running(try BrokerNode(apps: ["store", "other"], capabilities: Self.pubsub))
        defer { running.stop() }
        #expect(try await running.call("store", "emit_then_500", #"shop.order.lost|{"n":0}"#) == "emitted")
        #expect(try await running.call("store", "emit", #"shop.cart.added|{"n":1}"#) == "emitted") // not subscribed
        #expect(try await running.call("store", "emit", #"shop.order.paid|{"n":2}"#) == "emitted")
        let page = try await running.waitFor("other", prefix: "event:", containing: "shop.order.paid")
        // Only the committed event the subscriber asked for; the rolled-back one never existed.
        #expect(page.contains(#"shop.order.paid|{\"n\":2}"#), "\(page)")
        #expect(!page.contains("shop.order.lost"))
        #expect(!page.contains("shop.cart.added"))
    }

    @Test func publishingOutsideTheGrantIsDenied() async throws {
        let running = try Running(try BrokerNode(apps: ["store", "other"], capabilities: Self.pubsub))
        defer { running.stop() }
        let denied = try await running.call("store", "emit", #"billing.invoice|{}"#)
        #expect(denied.hasPrefix("ERR -3 event_emit denied: event type 'billing.invoice' is not covered by events.publish"))
        #expect(try await running.call("store", "emit", #"shop.order.x|not json"#).hasPrefix("ERR -2"))
    }

    @Test func oneRequestCannotFloodTheOutbox() async throws {
        let running = try Running(try BrokerNode(apps: ["store", "other"], capabilities: Self.pubsub))
        defer { running.stop() }
        let result = try await running.call("store", "emit_flood")
        #expect(result.hasPrefix("emitted 1000 then -4 event_emit: one request may emit at most 1000"), "\(result)")
    }

    @Test func anAppCannotHoardTimers() async throws {
        let running = try Running(try BrokerNode(apps: ["store"], capabilities: ["store": "timers = true"]))
        defer { running.stop() }
        // Each request commits at most 1000 (its outbox limit; the request still succeeds with what it set).
        for _ in 0..<10 {
            #expect(try await running.call("store", "timer_flood").hasPrefix("set 1000 then -4 timer_set: one request"))
        }
        let refused = try await running.call("store", "timer_flood")
        #expect(refused == "set 0 then -4 timer_set: app 'store' already has 10000 timers pending", "\(refused)")
    }

    @Test func aTimerFires() async throws {
        let running = try Running(try BrokerNode(apps: ["store"], capabilities: ["store": "timers = true"]))
        defer { running.stop() }
        let token = try await running.call("store", "timer", "1|wake up")
        #expect(token.hasPrefix("token "))
        let page = try await running.waitFor("store", prefix: "timer:", containing: "wake up")
        #expect(page.contains("\"key\":\"timer:\(token.dropFirst(6))\""), "\(page)")
    }

    @Test func aTimerSurvivesANodeRestart() async throws {
        let first = try BrokerNode(apps: ["store"], capabilities: ["store": "timers = true"])
        let running = try Running(first)
        _ = try await running.call("store", "timer", "1500|after restart")
        running.stop()
        first.broker.close()
        // A new broker and dispatcher over the same data directory: the timer is still pending and fires.
        let again = try Running(try BrokerNode(apps: ["store"], capabilities: ["store": "timers = true"],
                                                     data: first.data))
        defer { again.stop() }
        let page = try await again.waitFor("store", prefix: "timer:", containing: "after restart")
        #expect(page.contains("after restart"), "\(page)")
    }
}

/// The event log's retention policy (node.toml [events]).
@Suite struct EventRetentionTests {
    static func store() throws -> EventStore {
        let dir = TestSupport.scratch + "/retention-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return try EventStore(path: dir + "/node.db")
    }

    /// `n` events stored as an app's worker hands them over: one outbox batch.
    static func emit(_ store: EventStore, _ n: Int) throws {
        let rows = (0..<n).map { i in
            OutboxRow(seq: Int64(i + 1), requestID: 1, kind: OutboxRow.event, type: Array("t.e".utf8), payload: Array("\(i)".utf8),
                      token: 0, dueNs: 0)
        }
        _ = try store.applyOutbox(app: "a", epoch: [1], rows: rows) { row, _ in
            .event(caller: "node", type: "t.e", payload: row.payload)
        }
    }

    @Test func expiredEventsGoAndUndeliveredOnesAreCounted() throws {
        let store = try Self.store()
        try Self.emit(store, 10)
        store.advance("fast", to: 10)
        store.advance("slow", to: 4)
        // Nothing is old enough yet.
        #expect(store.prune(olderThanNs: 0, maxEvents: 1000, subscribers: ["fast", "slow"]) == (0, 0))
        // All ten are past retention; six of them had not reached "slow".
        let now = WallClock.nowNs() + 1
        #expect(store.prune(olderThanNs: now, maxEvents: 1000, subscribers: ["fast", "slow"]) == (10, 6))
        #expect(store.pending(for: "slow").isEmpty)
    }

    @Test func theCapRemovesTheOldestFirst() throws {
        let store = try Self.store()
        try Self.emit(store, 25)
        store.advance("sub", to: 25)
        #expect(store.prune(olderThanNs: 0, maxEvents: 20, subscribers: ["sub"]) == (5, 0))
        let left = store.pending(for: "new subscriber", limit: 100)
        #expect(left.count == 20 && left.first?.id == 6)
    }
}

/// Seen (review): an app without a database made its delivery thread spin once its first outbox-flush time had
/// passed (the flush, for apps with a database only, never moved that time on), running a timer query in a loop.
@Suite struct DeliveryIdleTests {
    @Test func anIdleAppWithoutADatabaseSleeps() async throws {
        let node = try BrokerNode(grants: "identity.sign = true")
        defer { node.broker.close() }
        // A 50 ms idle time: the flush time passes at once, and an idle thread makes about one round per 50 ms.
        let idleNs: Int64 = 50_000_000
        let dispatcher = EventDispatcher(store: node.broker.events, idleNs: idleNs)
        let manifest = try #require(node.manifests["store"])
        let policy = Policy(manifest: manifest, node: try NodeConfig.load(path: node.data + "/node.toml"))
        #expect(!policy.hasDatabase)
        let supervisor = AppSupervisor(spec: try node.spec("store"), policy: SupervisorPolicy(), hostCalls: node.broker)
        let start = MonotonicClock.nowNs()
        dispatcher.attach(app: "store", policy: policy, supervisor: supervisor)
        try await Task.sleep(for: .seconds(1))
        let rounds = dispatcher.deliveryRounds
        let elapsed = MonotonicClock.nowNs() - start
        dispatcher.stop()
        // However long the machine made that second, a sleeping thread makes at most a round per idle time (and a
        // few wake-ups); a spinning one makes thousands of rounds a second.
        let bound = 3 * Int(elapsed / idleNs) + 10
        #expect(rounds <= bound, "\(rounds) delivery rounds in \(elapsed / 1_000_000) ms")
    }

    @Test func theSleepIsTheNearestOfWhatIsDue() {
        let idle: Int64 = 30_000_000_000
        #expect(EventDispatcher.sleepNs(untilFlush: nil, untilTimer: nil, backoff: nil, idleNs: idle) == idle)
        #expect(EventDispatcher.sleepNs(untilFlush: 5, untilTimer: 9, backoff: nil, idleNs: idle) == 5)
        #expect(EventDispatcher.sleepNs(untilFlush: nil, untilTimer: 7, backoff: 3, idleNs: idle) == 3)
        #expect(EventDispatcher.sleepNs(untilFlush: -4, untilTimer: nil, backoff: nil, idleNs: idle) == 0)
    }
}
