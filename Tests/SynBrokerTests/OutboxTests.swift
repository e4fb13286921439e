import Foundation
@testable import SynBroker
import SynSandbox
import SynWire
import SynTestSupport
import Testing

/// Events and timers go into the app's outbox in the call's own transaction and reach the node after the commit:
/// never lost after a commit, never sent after a rollback, stored once however often they are handed over.
@Suite struct OutboxTests {
    static let grants = ["store": "events.publish = [\"shop.*\"]\ntimers = true"]

    /// The broker, except that it refuses (or doubles) the worker's outbox hand-overs while told to.
    final class Flaky: HostCallHandler, @unchecked Sendable {
        let inner: Broker
        private let lock = NSLock()
        private var refusing = false
        private var doubling = false
        private(set) var handOvers = 0
        init(_ inner: Broker) { self.inner = inner }
        func refuse(_ on: Bool) { lock.withLock { refusing = on } }
        func double(_ on: Bool) { lock.withLock { doubling = on } }
        func hostCall(_ context: HostCallContext, op: HostOp, payload: [UInt8]) -> (status: Int32, payload: [UInt8]) {
            guard op == .outbox else { return inner.hostCall(context, op: op, payload: payload) }
            let (refuse, twice) = lock.withLock { () -> (Bool, Bool) in
                handOvers += 1
                return (refusing, doubling)
            }
            if refuse { return (-9, Array("the node's disk is full".utf8)) }
            if twice { _ = inner.hostCall(context, op: op, payload: payload) }
            return inner.hostCall(context, op: op, payload: payload)
        }
        func endCall(_ context: HostCallContext, commit: Bool) -> HostCallFailure? { inner.endCall(context, commit: commit) }
        func storage(for app: String) -> WorkerStorage? { inner.storage(for: app) }
    }

    static func stored(_ node: BrokerNode) -> [EventStore.Event] {
        node.broker.events.pending(for: "reader-\(UInt32.random(in: 0...UInt32.max))", limit: 1000)
    }

    @Test func aCommittedEventTheNodeCouldNotTakeIsHandedOverByTheNextWorker() throws {
        let node = try BrokerNode(capabilities: Self.grants)
        let flaky = Flaky(node.broker)
        flaky.refuse(true)
        let first = try node.start(hostCalls: flaky)
        #expect(try BrokerNode.call(first, "emit", #"shop.order.paid|{"n":1}"#) == "emitted")
        // The call committed; the node refused the hand-over, so the event waits in the app's database.
        #expect(Self.stored(node).isEmpty)
        first.terminate()
        flaky.refuse(false)
        // A new worker hands it over before the app's init runs.
        let second = try node.start(hostCalls: flaky)
        defer { second.shutdown() }
        let events = Self.stored(node)
        #expect(events.map(\.type) == ["shop.order.paid"] && events.first?.payload == Array(#"{"n":1}"#.utf8))
        #expect(events.first?.caller == "unattributed" || events.first?.caller == "anonymous")
        // And only once, whatever comes after.
        #expect(try BrokerNode.call(second, "emit", #"shop.order.shipped|{}"#) == "emitted")
        #expect(Self.stored(node).map(\.type) == ["shop.order.paid", "shop.order.shipped"])
    }

    /// Rows a call could not hand over (the node refused, or the call's time ran short) are handed over when the
    /// node asks, without any call of the app's.
    @Test func theNodesFlushHandsOverWhatCallsLeftBehind() throws {
        let node = try BrokerNode(capabilities: Self.grants)
        let flaky = Flaky(node.broker)
        flaky.refuse(true)
        let w = try node.start(hostCalls: flaky)
        defer { w.shutdown() }
        #expect(try BrokerNode.call(w, "emit", #"shop.left|{}"#) == "emitted")
        #expect(Self.stored(node).isEmpty)
        flaky.refuse(false)
        var outcome: PipelineOutcome?
        w.pipeline([.event(kind: OutboxBatch.flushEventKind, topic: [], payload: [], token: 0)]) { _, o in outcome = o }
        guard case .reply(let reply)? = outcome else { Issue.record("no reply: \(String(describing: outcome))"); return }
        #expect(reply.status == 0)
        #expect(Self.stored(node).map(\.type) == ["shop.left"])
        // The app never saw it: its on_event records every delivery in its KV.
        #expect(try BrokerNode.call(w, "scan", "event:") == "[]|")
    }

    @Test func aHandOverMadeTwiceIsStoredOnce() throws {
        let node = try BrokerNode(capabilities: Self.grants)
        let flaky = Flaky(node.broker)
        flaky.double(true)
        let w = try node.start(hostCalls: flaky)
        defer { w.shutdown() }
        #expect(try BrokerNode.call(w, "emit", #"shop.a|{}"#) == "emitted")
        #expect(try BrokerNode.call(w, "timer", "86400000|later").hasPrefix("token "))
        #expect(try BrokerNode.call(w, "emit", #"shop.b|{}"#) == "emitted")
        #expect(Self.stored(node).map(\.type) == ["shop.a", "shop.b"])
        #expect(node.broker.events.pendingTimerCount(for: "store") == 1)
    }

    @Test func aRolledBackCallLeavesNothingInTheOutbox() throws {
        let node = try BrokerNode(capabilities: Self.grants)
        let flaky = Flaky(node.broker)
        let w = try node.start(hostCalls: flaky)
        defer { w.shutdown() }
        #expect(try BrokerNode.call(w, "emit_then_500", #"shop.lost|{}"#) == "emitted")
        #expect(flaky.handOvers == 0)
        #expect(try BrokerNode.call(w, "put", "k=v") == "version 1")
        #expect(flaky.handOvers == 0)
        #expect(Self.stored(node).isEmpty)
    }

    /// App SQL cannot reach the outbox; a worker that forges rows anyway (its database is its own) gets them checked
    /// against its grants like `event_emit`, refused and audited.
    @Test func forgedOutboxRowsAreCheckedAgainstTheGrants() throws {
        let node = try BrokerNode(capabilities: Self.grants)
        let w = try node.start()
        defer { w.shutdown() }
        #expect(try BrokerNode.call(w, "sql", "INSERT INTO syn_outbox(request_id, kind, type, payload, token, due_ns) VALUES (1, 1, 'billing.x', '{}', 0, 0)")
            .hasPrefix("ERR -3 sql_exec: not authorized: the table syn_outbox belongs to the node"))
        let forged = OutboxBatch(epoch: [7], rows: [
            OutboxRow(seq: 1, requestID: 99, kind: OutboxRow.event, type: Array("billing.invoice".utf8), payload: Array("{}".utf8), token: 0, dueNs: 0),
            OutboxRow(seq: 2, requestID: 99, kind: OutboxRow.event, type: Array("shop.ok".utf8), payload: Array("not json".utf8), token: 0, dueNs: 0),
            OutboxRow(seq: 3, requestID: 99, kind: OutboxRow.timer, type: [], payload: [], token: 5, dueNs: Int64.max),
            OutboxRow(seq: 4, requestID: 99, kind: 9, type: [], payload: [], token: 0, dueNs: 0),
            OutboxRow(seq: 5, requestID: 99, kind: OutboxRow.event, type: Array("shop.ok".utf8), payload: Array("{}".utf8), token: 0, dueNs: 0),
        ])
        let context = HostCallContext(app: "store", requestID: 99, caller: [])
        let answer = node.broker.hostCall(context, op: .outbox, payload: forged.encode())
        #expect(answer.status == 0)
        #expect(answer.payload == [5, 0, 0, 0, 0, 0, 0, 0])
        let events = Self.stored(node)
        #expect(events.map(\.type) == ["shop.ok"] && events.first?.caller == "unattributed")
        #expect(node.broker.events.pendingTimerCount(for: "store") == 0)
        let refused = node.broker.audit.recent(100).filter { $0.action == "outbox" && $0.decision == "refused" }
        #expect(refused.count == 4, "\(refused.map(\.cause))")
        // A malformed batch is an error, not a crash.
        #expect(node.broker.hostCall(context, op: .outbox, payload: [1, 2, 3]).status == -2)
    }

    /// A worker that forges rows in a loop stores no more per call than an honest one could emit, and the refusals
    /// of what it forges are summed up rather than each written to the audit log.
    @Test func aForgingWorkerStoresNoMoreThanAnHonestOne() throws {
        let node = try BrokerNode(capabilities: Self.grants)
        let context = HostCallContext(app: "store", requestID: 4242, caller: [])
        var seq: Int64 = 0
        var refusedAt: Int?
        for handOver in 0..<40 {
            let rows = (0..<200).map { _ -> OutboxRow in
                seq += 1
                return OutboxRow(seq: seq, requestID: 4242, kind: seq % 2 == 0 ? OutboxRow.event : 9, type: Array("shop.flood".utf8),
                                 payload: Array("{}".utf8), token: 0, dueNs: 0)
            }
            let answer = node.broker.hostCall(context, op: .outbox, payload: OutboxBatch(epoch: [1], rows: rows).encode())
            if answer.status != 0 {
                #expect(answer.status == -4 && String(decoding: answer.payload, as: UTF8.self).contains("at most 2000 rows"))
                refusedAt = handOver
                break
            }
        }
        #expect(refusedAt == 10)
        #expect(Self.stored(node).count == 1000)
        _ = node.broker.endCall(context, commit: true)
        let audited = node.broker.audit.recent(1000).filter { $0.app == "store" && ($0.action == "outbox" || $0.action == "denials") }
        #expect(audited.count == 11, "\(audited.count)")
        // An empty hand-over is refused without touching node.db.
        #expect(node.broker.hostCall(context, op: .outbox, payload: OutboxBatch(epoch: [1], rows: []).encode()).status == -2)
    }

    /// Rows are attributed by the host's record of the call that wrote them, for the app that wrote them only.
    @Test func anAppCannotBorrowAnotherAppsCaller() throws {
        let node = try BrokerNode(apps: ["store", "other"], capabilities: ["store": "events.publish = [\"shop.*\"]",
                                                                               "other": "events.publish = [\"shop.*\"]"])
        let bob = [UInt8](repeating: 7, count: 32)
        var emit = WireWriter()
        emit.data(Array("shop.real".utf8)); emit.data(Array("{}".utf8))
        #expect(node.broker.hostCall(HostCallContext(app: "other", requestID: 77, caller: bob), op: .eventEmit, payload: emit.bytes).status == 0)
        let forged = OutboxBatch(epoch: [3], rows: [
            OutboxRow(seq: 1, requestID: 77, kind: OutboxRow.event, type: Array("shop.fake".utf8), payload: Array("{}".utf8), token: 0, dueNs: 0),
        ])
        _ = node.broker.hostCall(HostCallContext(app: "store", requestID: 78, caller: []), op: .outbox, payload: forged.encode())
        #expect(Self.stored(node).map(\.caller) == ["unattributed"])
    }

    /// A database restored from an older copy numbers its outbox from below the node's cursor: its worker gives the
    /// outbox a new epoch, so its new rows are stored, not taken for re-sends.
    @Test func aRestoredDatabaseStartsTheCountAgain() throws {
        let node = try BrokerNode(capabilities: Self.grants)
        let dir = node.data + "/apps/store/"
        let files = ["app.db", "app.db-wal", "app.db-shm"]
        var w = try node.start()
        #expect(try BrokerNode.call(w, "emit", #"shop.one|{}"#) == "emitted")
        w.shutdown()
        // The backup, taken with the worker stopped.
        let backup = TestSupport.scratch + "/backup-\(UInt32.random(in: 0...UInt32.max))/"
        try FileManager.default.createDirectory(atPath: backup, withIntermediateDirectories: true)
        for f in files { try FileManager.default.copyItem(atPath: dir + f, toPath: backup + f) }
        w = try node.start()
        #expect(try BrokerNode.call(w, "emit", #"shop.two|{}"#) == "emitted")
        #expect(try BrokerNode.call(w, "emit", #"shop.three|{}"#) == "emitted")
        w.shutdown()
        // Restored: the outbox numbers from 2 again, below the node's cursor of 3.
        for f in files {
            try FileManager.default.removeItem(atPath: dir + f)
            try FileManager.default.copyItem(atPath: backup + f, toPath: dir + f)
        }
        w = try node.start()
        defer { w.shutdown() }
        #expect(try BrokerNode.call(w, "emit", #"shop.after|{}"#) == "emitted")
        #expect(Self.stored(node).map(\.type) == ["shop.one", "shop.two", "shop.three", "shop.after"])
    }

    /// Instances hand over in any order; the node's cursor only moves forward, and nothing is stored twice.
    @Test func lateHandOversOfOtherInstancesAreDroppedAndTheCursorHolds() throws {
        let node = try BrokerNode(capabilities: Self.grants)
        func row(_ seq: Int64) -> OutboxRow {
            OutboxRow(seq: seq, requestID: 1, kind: OutboxRow.event, type: Array("shop.e\(seq)".utf8), payload: Array("{}".utf8), token: 0, dueNs: 0)
        }
        let context = HostCallContext(app: "store", requestID: 5, caller: [])
        func hand(_ rows: ClosedRange<Int64>) -> [UInt8] {
            node.broker.hostCall(context, op: .outbox, payload: OutboxBatch(epoch: [9], rows: rows.map(row)).encode()).payload
        }
        #expect(hand(1...20) == [20, 0, 0, 0, 0, 0, 0, 0])
        #expect(hand(11...15) == [20, 0, 0, 0, 0, 0, 0, 0])
        #expect(hand(16...25) == [25, 0, 0, 0, 0, 0, 0, 0])
        #expect(Self.stored(node).count == 25)
    }
}
