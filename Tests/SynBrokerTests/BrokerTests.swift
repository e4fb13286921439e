import Foundation
import SynBroker
import SynConfig
import SynSandbox
import SynSodium
import SynWire
import SynTestSupport
import Testing

/// The capability broker through real sandboxed workers, real key files and real SQLite databases.
@Suite struct BrokerTests {
    @Test func keyValueWithCompareAndSwap() throws {
        let node = try BrokerNode()
        let w = try node.start()
        #expect(try BrokerNode.call(w, "put", "greeting=hello") == "version 1")
        #expect(try BrokerNode.call(w, "get", "greeting") == "hello@1")
        #expect(try BrokerNode.call(w, "cas", "greeting=hi@1") == "version 2")
        #expect(try BrokerNode.call(w, "cas", "greeting=stale@1").hasPrefix("ERR -7 kv_put: version is 2, if_version was 1"))
        #expect(try BrokerNode.call(w, "cas", "greeting=new@absent").hasPrefix("ERR -7"))
        #expect(try BrokerNode.call(w, "cas", "fresh=yes@absent") == "version 1")
        #expect(try BrokerNode.call(w, "del", "greeting") == "deleted")
        #expect(try BrokerNode.call(w, "get", "greeting").hasPrefix("ERR -1"))
        w.shutdown()
    }

    @Test func scanPagesWithACursor() throws {
        let node = try BrokerNode()
        let w = try node.start()
        for k in ["a:1", "a:2", "a:3", "b:1"] { _ = try BrokerNode.call(w, "put", "\(k)=v") }
        let first = try BrokerNode.call(w, "scan", "a:")
        #expect(first == #"[{"key":"a:1","value":"v","version":1},{"key":"a:2","value":"v","version":1}]|a:2"#)
        let second = try BrokerNode.call(w, "scan", "a:|a:2")
        #expect(second == #"[{"key":"a:3","value":"v","version":1}]|"#)
        w.shutdown()
    }

    @Test func sqlWithJSONParametersAndRows() throws {
        let node = try BrokerNode()
        let w = try node.start()
        #expect(try BrokerNode.call(w, "sql", "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, ok INTEGER, raw BLOB)") == "changes 0")
        #expect(try BrokerNode.call(w, "sql", "INSERT INTO t(name, score, ok, raw) VALUES (?, ?, ?, ?)\t[\"Ada \\\"L\\\"\", 2.5, true, {\"base64\": \"AAE=\"}]") == "changes 1")
        #expect(try BrokerNode.call(w, "query", "SELECT id, name, score, ok, raw FROM t WHERE id = ?\t[1]")
            == #"[[1,"Ada \"L\"",2.5,1,{"base64":"AAE="}]]"#)
        #expect(try BrokerNode.call(w, "sql", "INSERT INTO t(name) VALUES (?)\tnot json").hasPrefix("ERR -2 params_json"))
        #expect(try BrokerNode.call(w, "sql", "SELEC nonsense").hasPrefix("ERR -2"))
        w.shutdown()
    }

    @Test(arguments: ["ATTACH DATABASE 'x.db' AS x", "PRAGMA journal_mode=DELETE", "SELECT load_extension('x')",
                      "VACUUM INTO '/tmp/steal.db'"])
    func theAuthorizerRefusesEscapes(_ sql: String) throws {
        let node = try BrokerNode()
        let w = try node.start()
        let result = try BrokerNode.call(w, "sql", sql)
        #expect(result.hasPrefix("ERR -3"), "\(sql): \(result)")
        w.shutdown()
    }

    @Test func aRunawayQueryIsStoppedWithoutHoldingTheHost() throws {
        let node = try BrokerNode()
        var spec = try node.spec("store")
        spec.callTimeoutMs = 1000
        let w = try WorkerProcess.start(spec, hostCalls: node.broker)
        // An infinite recursive query: the broker interrupts it, the app gets SYN_E_TIMEOUT, and the database
        // remains usable for the next request.
        let runaway = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
        let result = try BrokerNode.call(w, "query", runaway)
        #expect(result.hasPrefix("ERR -5 sql_query: the statement ran longer than"), "\(result)")
        #expect(w.death == nil)
        #expect(try BrokerNode.call(w, "put", "after=ok") == "version 1")
        w.shutdown()
    }

    @Test func theStorageQuotaIsEnforcedWithoutCorruption() throws {
        let node = try BrokerNode(quotaMB: 1)
        let w = try node.start()
        #expect(try BrokerNode.call(w, "put", "kept=before the quota") == "version 1")
        // The app saw SYN_E_QUOTA and answered 200 anyway, but SQLite had rolled back the call's transaction: the
        // host fails the call (naming the key that grants more) instead of reporting writes that were not kept.
        let fill = try w.handle(method: "fill", body: [])
        let message = String(decoding: fill.body, as: UTF8.self)
        #expect(fill.status == -4, "\(message)")
        #expect(message.contains("storage_quota_mb") && message.contains("nothing it wrote is kept"), "\(message)")
        #expect(try BrokerNode.call(w, "query", "SELECT count(*) FROM sqlite_master WHERE name = 'fill'") == "[[0]]")
        // The database stays healthy and earlier data is intact.
        #expect(try BrokerNode.call(w, "get", "kept") == "before the quota@1")
        #expect(try BrokerNode.call(w, "query", "PRAGMA integrity_check") == #"[["ok"]]"#)
        w.shutdown()
    }

    @Test(arguments: ["put_two_then_crash", "put_two_then_500"])
    func aFailedRequestLeavesNoHalfWrites(_ method: String) throws {
        let node = try BrokerNode()
        let w = try node.start()
        #expect(try BrokerNode.call(w, "put", "committed=yes") == "version 1")
        _ = try? w.handle(method: method, body: Array("half".utf8))
        // A fresh worker (the crash killed the first) sees none of that request's writes, and the earlier one.
        let w2 = w.death == nil ? w : try node.start()
        #expect(try BrokerNode.call(w2, "get", "half-1").hasPrefix("ERR -1"))
        #expect(try BrokerNode.call(w2, "get", "half-2").hasPrefix("ERR -1"))
        #expect(try BrokerNode.call(w2, "get", "committed") == "yes@1")
        w2.shutdown()
    }

    @Test func anAppCannotReachAnotherAppsData() throws {
        let node = try BrokerNode(apps: ["store", "other"])
        let a = try node.start("store"), b = try node.start("other")
        _ = try BrokerNode.call(a, "put", "secret=mine")
        _ = try BrokerNode.call(a, "sql", "CREATE TABLE private(x TEXT)")
        _ = try BrokerNode.call(a, "sql", "INSERT INTO private VALUES ('a-only')")
        #expect(try BrokerNode.call(b, "get", "secret").hasPrefix("ERR -1"))
        #expect(try BrokerNode.call(b, "query", "SELECT * FROM private").hasPrefix("ERR -2"))
        #expect(try BrokerNode.call(b, "query", "SELECT key FROM syn_kv") == "[]")
        let path = node.data + "/apps/store/app.db"
        #expect(try BrokerNode.call(b, "sql", "ATTACH DATABASE '\(path)' AS a").hasPrefix("ERR -3"))
        a.shutdown(); b.shutdown()
    }

    @Test func anUngrantedCapabilityIsDeniedNamingTheKey() throws {
        let node = try BrokerNode(grants: "storage.kv = true")
        let w = try node.start()
        let result = try BrokerNode.call(w, "sql", "CREATE TABLE t(x)")
        #expect(result == "ERR -3 sql_exec denied: storage.sql is not granted to app 'store': set `storage.sql = true` under [apps.store.grants] in \(node.data)/node.toml")
        #expect(try BrokerNode.call(w, "sign", "x").contains("identity.sign is not granted"))
        w.shutdown()
    }

    @Test func signaturesAreTheAppsOwnAndDomainSeparated() throws {
        let node = try BrokerNode(apps: ["store", "other"])
        let w = try node.start()
        let publicKey = try #require(Hex.decode(try BrokerNode.call(w, "pubkey")))
        #expect(publicKey == node.broker.publicKey(of: "store"))
        let signature = try #require(Hex.decode(try BrokerNode.call(w, "sign", "order 42")))
        let message = Array("order 42".utf8)
        #expect(Ed25519.verify(publicKey: publicKey, domain: .app("store"), message: message, signature: signature))
        #expect(!Ed25519.verify(publicKey: publicKey, domain: .app("other"), message: message, signature: signature))
        #expect(!Ed25519.verify(publicKey: publicKey, domain: .node, message: message, signature: signature))
        #expect(try BrokerNode.call(w, "verify_own", "receipt") == "good 0 bad -3")
        w.shutdown()
    }

    /// Records every byte that crosses the link through host calls, in both directions.
    final class Tap: HostCallHandler, @unchecked Sendable {
        let inner: Broker
        private let lock = NSLock()
        private var bytes: [[UInt8]] = []
        init(_ inner: Broker) { self.inner = inner }
        func hostCall(_ context: HostCallContext, op: HostOp, payload: [UInt8]) -> (status: Int32, payload: [UInt8]) {
            let answer = inner.hostCall(context, op: op, payload: payload)
            lock.withLock { bytes.append(payload); bytes.append(answer.payload) }
            return answer
        }
        func storage(for app: String) -> WorkerStorage? { inner.storage(for: app) }
        func endCall(_ context: HostCallContext, commit: Bool) -> HostCallFailure? { inner.endCall(context, commit: commit) }
        var all: [[UInt8]] { lock.withLock { bytes } }
    }

    @Test func noPrivateKeyEverCrossesTheLink() throws {
        let node = try BrokerNode()
        let tap = Tap(node.broker)
        let w = try node.start(hostCalls: tap)
        for method in ["pubkey", "sign", "verify_own", "put", "get"] { _ = try BrokerNode.call(w, method, "k=v") }
        w.shutdown()
        // The key files hold seed (32) + public key (32); no frame may contain the seed, nor the node's.
        for path in [node.data + "/apps/store/app.key", node.data + "/node.key"] {
            let seed = Array(try Data(contentsOf: URL(fileURLWithPath: path)).prefix(32))
            for payload in tap.all where payload.count >= 32 {
                #expect(!(0...(payload.count - 32)).contains { Array(payload[$0..<$0 + 32]) == seed }, "\(path)")
            }
        }
        #expect(tap.all.count >= 10)
    }
}

/// Node identity on disk, and every slot through the broker.
@Suite struct BrokerIdentityTests {
    @Test func aNodeKeyReadableByOthersStopsTheNode() throws {
        let node = try BrokerNode()
        node.broker.close() // one process at a time holds a data directory
        chmod(node.data + "/node.key", 0o644)
        do {
            _ = try Broker(dataDirectory: node.data, node: NodeConfig())
            Issue.record("the broker started with a world-readable key")
        } catch {
            #expect(error.code == .identity)
            #expect(error.message.contains("chmod 600"))
        }
        let r = try CLI.syneroym(["exec", "--manifest", "manifests/hello.toml", "--data", node.data, "hello"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("chmod 600"))
    }

    @Test func theNodeKeyIsCreatedPrivateAndKept() throws {
        let node = try BrokerNode()
        var st = stat()
        #expect(stat(node.data + "/node.key", &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        node.broker.close() // one process at a time holds a data directory
        let again = try Broker(dataDirectory: node.data, node: NodeConfig())
        defer { again.close() }
        #expect(again.nodePublicKey == node.broker.nodePublicKey)
    }

    @Test func everySlotThroughTheBroker() throws {
        let node = try BrokerNode(apps: ["slots"], capabilities: [
            "slots": "timers = true\nnet.peers = true\nevents.publish = [\"slots.*\"]\nmessages.publish = [\"k\"]",
        ])
        let lib = try TestSupport.buildC("Tests/HostileApps/slots.c", name: "slots-broker")
        let worker = try WorkerProcess.start(try TestSupport.spec(appID: "slots", library: lib), hostCalls: node.broker)
        let text = String(decoding: try worker.handle(method: "all").body, as: UTF8.self)
        var status: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 2)
            status[String(parts[0])] = Int(parts[1]) ?? 99
        }
        // Served by the broker: identity, KV, SQL, events, timers.
        for slot in ["id_public_key", "id_sign", "kv_put", "kv_delete", "kv_scan", "sql_exec", "sql_query", "event_emit",
                     "timer_set"] {
            #expect(status[slot] == 0, "\(slot): \(text)")
        }
        // id_verify checked the app's own fresh signature of the same message; kv_get ran before kv_put.
        #expect(status["id_verify"] == 0)
        #expect(status["kv_get"] == -1)
        // net_send is granted, but "k" is no node id (SYN_E_BAD_ARG); msg_publish on the granted topic "k" reaches
        // whoever subscribes (nobody here); net_request to a URL the app was not granted (net.fetch) is denied.
        #expect(status["net_send"] == -2, "\(text)")
        #expect(status["msg_publish"] == 0, "\(text)")
        #expect(status["net_request"] == -3, "\(text)")
        worker.shutdown()
    }
}
