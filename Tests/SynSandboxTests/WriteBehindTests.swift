import Foundation
import SynBroker
import SynSandbox
import Testing

/// Blind `kv_put`s are written behind by the worker and applied by the host inside the call's transaction: the
/// call reads its own writes, commits or rolls back as a whole, and a failed write fails the call.
@Suite struct WriteBehindTests {
    typealias Node = BrokerTests.Node

    static func call(_ w: WorkerProcess, _ method: String, _ body: String = "") throws -> String {
        try BrokerTests.call(w, method, body)
    }

    @Test func aCallReadsItsOwnBlindWritesInOrder() throws {
        let node = try Node()
        let w = try node.start()
        // The first put is answered by the host; from then on blind puts are held back by the worker.
        #expect(try Self.call(w, "put", "warm=1") == "version 1")
        // get: answered from the held-back puts; ver: needs a version, so they are sent first.
        #expect(try Self.call(w, "blind", "a=1;b=2;get:a;a=3;get:a;ver:a;get:b") == "1;3;3@2;2;")
        #expect(try Self.call(w, "blind", "ver:a;ver:b") == "3@2;2@1;")
        // A delete after a held-back put of the same key sees it, in order.
        #expect(try Self.call(w, "blind", "p=1;del:p;get:p").hasPrefix("ERR -1 kv_get: no such key"))
        #expect(try Self.call(w, "putget_blind", "round trip") == "round trip")
        w.shutdown()
    }

    @Test(arguments: ["fail", "crash"])
    func blindWritesOfAFailedCallAreNotKept(_ ending: String) throws {
        let node = try Node()
        var w = try node.start()
        #expect(try Self.call(w, "put", "kept=yes") == "version 1")
        _ = try? w.handle(method: "blind", body: Array("x=1;y=2;kept=no;\(ending)".utf8))
        if ending == "crash" {
            #expect(w.death?.outcome == .crash)
            w = try node.start()
        }
        #expect(try Self.call(w, "blind", "ver:kept") == "yes@1;")
        #expect(try Self.call(w, "get", "x").hasPrefix("ERR -1"))
        #expect(try Self.call(w, "get", "y").hasPrefix("ERR -1"))
        w.shutdown()
    }

    @Test func aBlindWritePastTheQuotaFailsTheCall() throws {
        let node = try Node(quotaMB: 1)
        let w = try node.start()
        #expect(try Self.call(w, "put", "kept=before the quota") == "version 1")
        // The app saw every put succeed; the host could not keep them, so the call fails and keeps nothing.
        let reply = try w.handle(method: "fill_blind", body: [])
        let message = String(decoding: reply.body, as: UTF8.self)
        #expect(reply.status == -4, "\(message)")
        #expect(message.contains("written behind") && message.contains("storage_quota_mb"), "\(message)")
        #expect(try Self.call(w, "get", "fill0").hasPrefix("ERR -1"))
        #expect(try Self.call(w, "get", "kept") == "before the quota@1")
        #expect(try Self.call(w, "query", "PRAGMA integrity_check") == #"[["ok"]]"#)
        w.shutdown()
    }

    /// A hostile app skips the host table and sends a raw written-behind put: the host still checks the grant,
    /// audits the denial and fails the call.
    @Test func aForgedWriteIsCheckedAgainstTheGrant() throws {
        let node = try Node(grants: "storage.sql = true")
        let w = try node.start()
        let reply = try w.handle(method: "forge_write", body: [])
        let message = String(decoding: reply.body, as: UTF8.self)
        #expect(reply.status == -3, "\(message)")
        #expect(message.contains("storage.kv"), "\(message)")
        #expect(try Self.call(w, "query", "SELECT count(*) FROM syn_kv") == "[[0]]")
        w.shutdown()
        let denials = node.broker.audit.recent(100).filter { $0.decision == "denied" && $0.action == "kv_put" }
        #expect(denials.count == 1)
    }
}
