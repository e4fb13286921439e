import Foundation
import SynBroker
import SynConfig
import SynSandbox
import SynSodium
import Testing

/// The hash-chained, checkpoint-signed audit log, verified by the real CLI after real edits to the file.
@Suite struct AuditLogTests {
    static func dataDirectory() throws -> String {
        let dir = TestSupport.scratch + "/audit-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A node with `count` entries whose causes are `cause-0001`, `cause-0002`, ... (closed, so checkpointed).
    static func log(entries count: Int) throws -> String {
        let dir = try dataDirectory()
        let broker = try Broker(dataDirectory: dir, node: NodeConfig())
        for i in 1...count {
            broker.audit.append(actor: "node", app: "hello", action: "test", decision: "ok",
                                cause: String(format: "cause-%04d", i))
        }
        broker.audit.close()
        return dir
    }

    @Test func anIntactLogVerifies() throws {
        let dir = try Self.log(entries: 100)
        let r = try ExecCommandTests.syneroym(["audit", "verify", "--data", dir])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "ok: 100 entries, 2 signed checkpoints\n")
    }

    @Test func editingOneByteIsReportedAtThatEntry() throws {
        let dir = try Self.log(entries: 100)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/node.db"))
        let needle = Data("cause-0042".utf8)
        let found = try #require(bytes.range(of: needle))
        bytes[found.upperBound - 1] = UInt8(ascii: "3") // cause-0042 -> cause-0043
        try bytes.write(to: URL(fileURLWithPath: dir + "/node.db"))
        let r = try ExecCommandTests.syneroym(["audit", "verify", "--data", dir])
        #expect(r.status == 1)
        #expect(r.stdout == "broken at entry 42: entry 42 was modified (its hash does not match its fields)\n")
    }

    @Test func aCheckpointFromAnotherKeyIsReported() throws {
        let dir = try Self.log(entries: 10)
        // Replace the node key: the checkpoints no longer verify against it.
        try FileManager.default.removeItem(atPath: dir + "/node.key")
        _ = try KeyFile.loadOrCreate(path: dir + "/node.key")
        let r = try ExecCommandTests.syneroym(["audit", "verify", "--data", dir])
        #expect(r.status == 1)
        #expect(r.stdout.contains("checkpoint 10 is not signed by this node's key"))
    }

    @Test func aDenialFloodIsSummarised() throws {
        let node = try BrokerTests.Node(grants: "storage.kv = true")
        let w = try node.start()
        #expect(try BrokerTests.call(w, "deny_flood") == "done")
        w.shutdown()
        let entries = node.broker.audit.recent(100)
        #expect(entries.filter { $0.action == "sql_exec" }.count == 10)
        #expect(entries.contains { $0.action == "denials" && $0.cause.hasPrefix("490 more denials in this request") })
        let f = node.broker.complete(AppFootprint(), of: "store")
        #expect(f.denials == 500)
    }

    @Test func denialsAndDeathsAreAudited() throws {
        let node = try BrokerTests.Node(grants: "storage.kv = true")
        let w = try node.start()
        _ = try BrokerTests.call(w, "sql", "CREATE TABLE t(x)")
        _ = try BrokerTests.call(w, "put", "k=v")
        let denial = try #require(node.broker.audit.recent(10).last)
        #expect(denial.action == "sql_exec" && denial.decision == "denied" && denial.app == "store")
        #expect(denial.actor == "anonymous")
        #expect(denial.cause.contains("[apps.store.grants]"))
        node.broker.audit.record(.died(app: "store", instance: 0, death: WorkerDeath(.crash, "SIGSEGV")))
        let death = try #require(node.broker.audit.recent(1).last)
        #expect(death.action == "app.death" && death.decision == "crash" && death.cause.contains("SIGSEGV"))
        w.shutdown()
        node.broker.audit.close()
        let r = try ExecCommandTests.syneroym(["audit", "verify", "--data", node.data])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
    }
}
