import Foundation
import SynBroker
import SynSandbox
import SynWire
import SynTestSupport
import Testing

/// Storage runs in the app's own worker: a call reads its own writes, commits or rolls back as a whole, and a
/// write past the quota fails the call. The host runs none of it.
@Suite struct WorkerStorageTests {
    typealias Node = BrokerNode

    static func call(_ w: WorkerProcess, _ method: String, _ body: String = "") throws -> String {
        try BrokerNode.call(w, method, body)
    }

    @Test func aCallReadsItsOwnWritesInOrder() throws {
        let node = try BrokerNode()
        let w = try node.start()
        #expect(try BrokerNode.call(w, "put", "warm=1") == "version 1")
        #expect(try BrokerNode.call(w, "blind", "a=1;b=2;get:a;a=3;get:a;ver:a;get:b") == "1;3;3@2;2;")
        #expect(try BrokerNode.call(w, "blind", "ver:a;ver:b") == "3@2;2@1;")
        #expect(try BrokerNode.call(w, "blind", "p=1;del:p;get:p").hasPrefix("ERR -1 kv_get: no such key"))
        #expect(try BrokerNode.call(w, "putget_blind", "round trip") == "round trip")
        w.shutdown()
    }

    @Test(arguments: ["fail", "crash"])
    func writesOfAFailedCallAreNotKept(_ ending: String) throws {
        let node = try BrokerNode()
        var w = try node.start()
        #expect(try BrokerNode.call(w, "put", "kept=yes") == "version 1")
        _ = try? w.handle(method: "blind", body: Array("x=1;y=2;kept=no;\(ending)".utf8))
        if ending == "crash" {
            #expect(w.death?.outcome == .crash)
            w = try node.start()
        }
        #expect(try BrokerNode.call(w, "blind", "ver:kept") == "yes@1;")
        #expect(try BrokerNode.call(w, "get", "x").hasPrefix("ERR -1"))
        #expect(try BrokerNode.call(w, "get", "y").hasPrefix("ERR -1"))
        w.shutdown()
    }

    @Test func aWritePastTheQuotaFailsTheCall() throws {
        let node = try BrokerNode(quotaMB: 1)
        let w = try node.start()
        #expect(try BrokerNode.call(w, "put", "kept=before the quota") == "version 1")
        // The app answers 200 after its put failed; SQLite had rolled the call back, so the call fails.
        let reply = try w.handle(method: "fill_blind", body: [])
        let message = String(decoding: reply.body, as: UTF8.self)
        #expect(reply.status == -4, "\(message)")
        #expect(message.contains("storage_quota_mb") && message.contains("nothing it wrote is kept"), "\(message)")
        #expect(try BrokerNode.call(w, "get", "fill0").hasPrefix("ERR -1"))
        #expect(try BrokerNode.call(w, "get", "kept") == "before the quota@1")
        #expect(try BrokerNode.call(w, "query", "PRAGMA integrity_check") == #"[["ok"]]"#)
        w.shutdown()
    }

    /// A hostile app skips the host table and sends a raw frame of the kind that once carried written-behind puts:
    /// no such frame exists any more, and the worker dies for it.
    @Test func aForgedWriteFrameIsAProtocolViolation() throws {
        let node = try BrokerNode()
        let w = try node.start()
        #expect(throws: WorkerError.self) { try w.handle(method: "forge_write", body: []) }
        #expect(w.death?.outcome == .protocolViolation)
        let again = try node.start()
        #expect(try BrokerNode.call(again, "query", "SELECT count(*) FROM syn_kv") == "[[0]]")
        again.shutdown()
    }

    /// A 1 MiB key is refused as too large where storage is granted, and denied (carrying nothing to the host)
    /// where it is not; the worker lives on either way.
    @Test(arguments: [("storage.kv = true", "ERR -8"), ("storage.sql = true", "ERR -3 kv_get denied: storage.kv is not granted")])
    func anOversizedKeyIsRefusedNotFatal(_ grants: String, _ expected: String) throws {
        let node = try BrokerNode(grants: grants)
        let w = try node.start()
        defer { w.shutdown() }
        let answer = try BrokerNode.call(w, "bigkey")
        #expect(answer.hasPrefix(expected), "\(answer)")
        #expect(w.death == nil)
    }

    /// A granted storage slot sent to the host by hand is refused: the host runs no app SQL.
    @Test func theHostRunsNoStorageSlot() throws {
        let node = try BrokerNode()
        let context = HostCallContext(app: "store", requestID: 1, caller: [])
        for op in [HostOp.kvGet, .kvPut, .sqlExec, .sqlQuery] {
            let answer = node.broker.hostCall(context, op: op, payload: [])
            #expect(answer.status == -6, "\(op)")
            #expect(String(decoding: answer.payload, as: UTF8.self).contains("served inside the app's worker"))
        }
    }
}

/// Several instances of one app share its database through SQLite's WAL locking.
@Suite struct SharedDatabaseTests {
    @Test func twoInstancesSeeEachOthersCommittedWrites() throws {
        let node = try BrokerNode()
        var spec = try node.spec("store")
        spec.sharedDatabase = true
        let a = try WorkerProcess.start(spec, hostCalls: node.broker)
        let b = try WorkerProcess.start(spec, hostCalls: node.broker)
        defer { a.shutdown(); b.shutdown() }
        #expect(try BrokerNode.call(a, "put", "from=a") == "version 1")
        #expect(try BrokerNode.call(b, "get", "from") == "a@1")
        #expect(try BrokerNode.call(b, "put", "from=b") == "version 2")
        #expect(try BrokerNode.call(a, "get", "from") == "b@2")
        // Interleaved writers: each call is its own transaction, and none is lost.
        for i in 0..<20 {
            _ = try BrokerNode.call(i % 2 == 0 ? a : b, "put", "n\(i)=\(i)")
        }
        let counted = try BrokerNode.call(a, "query", "SELECT count(*) FROM syn_kv WHERE substr(key, 1, 1) = x'6e'")
        #expect(counted == "[[20]]", "\(counted)")
        #expect(try BrokerNode.call(b, "query", "PRAGMA integrity_check") == #"[["ok"]]"#)
    }
}
