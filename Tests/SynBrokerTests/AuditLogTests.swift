import Foundation
import SynTestSupport
import SynBroker
import SynConfig
import SynSandbox
import SynSodium
import SynSQLite
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
        broker.close()
        return dir
    }

    /// Runs `sql` on the log's `node.db` as an attacker with write access to that file would.
    static func tamper(_ dir: String, _ sql: String) throws {
        let db = try Database(path: dir + "/node.db")
        defer { db.close() }
        try db.execute(sql)
    }

    static func verify(_ dir: String, _ extra: [String] = []) throws -> CLI.Result {
        try CLI.syneroym(["audit", "verify", "--data", dir] + extra)
    }

    /// What `audit verify` says of the peers' heads when no node runs on the directory.
    static let notAsked = "witnesses: not asked (the node is not running; while it runs, this also checks the heads its peers hold)\n"

    @Test func anIntactLogVerifies() throws {
        let dir = try Self.log(entries: 100)
        let r = try CLI.syneroym(["audit", "verify", "--data", dir])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "ok: 100 entries, 2 signed checkpoints, signed head at entry 100\n" + Self.notAsked)
    }

    @Test func editingOneByteIsReportedAtThatEntry() throws {
        let dir = try Self.log(entries: 100)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/node.db"))
        let needle = Data("cause-0042".utf8)
        let found = try #require(bytes.range(of: needle))
        bytes[found.upperBound - 1] = UInt8(ascii: "3") // cause-0042 -> cause-0043
        try bytes.write(to: URL(fileURLWithPath: dir + "/node.db"))
        let r = try CLI.syneroym(["audit", "verify", "--data", dir])
        #expect(r.status == 1)
        #expect(r.stdout == "broken at entry 42: entry 42 was modified (its hash does not match its fields)\n")
    }

    @Test func aCheckpointFromAnotherKeyIsReported() throws {
        let dir = try Self.log(entries: 10)
        // Replace the node key: the checkpoints no longer verify against it.
        try FileManager.default.removeItem(atPath: dir + "/node.key")
        _ = try KeyFile.loadOrCreate(path: dir + "/node.key")
        let r = try CLI.syneroym(["audit", "verify", "--data", dir])
        #expect(r.status == 1)
        #expect(r.stdout.contains("checkpoint 10 is not signed by this node's key"))
    }

    @Test func aDenialFloodIsSummarised() throws {
        let node = try BrokerNode(grants: "storage.kv = true")
        let w = try node.start()
        #expect(try BrokerNode.call(w, "deny_flood") == "done")
        w.shutdown()
        let entries = node.broker.audit.recent(100)
        #expect(entries.filter { $0.action == "sql_exec" }.count == 10)
        #expect(entries.contains { $0.action == "denials" && $0.cause.hasPrefix("490 more denials in this request") })
        let f = node.broker.complete(AppFootprint(), of: "store")
        #expect(f.denials == 500)
    }

    @Test func denialsAndDeathsAreAudited() throws {
        let node = try BrokerNode(grants: "storage.kv = true")
        let w = try node.start()
        _ = try BrokerNode.call(w, "sql", "CREATE TABLE t(x)")
        _ = try BrokerNode.call(w, "put", "k=v")
        let denial = try #require(node.broker.audit.recent(10).last)
        #expect(denial.action == "sql_exec" && denial.decision == "denied" && denial.app == "store")
        #expect(denial.actor == "anonymous")
        #expect(denial.cause.contains("[apps.store.grants]"))
        node.broker.audit.record(.died(app: "store", instance: 0, death: WorkerDeath(.crash, "SIGSEGV")))
        let death = try #require(node.broker.audit.recent(1).last)
        #expect(death.action == "app.death" && death.decision == "crash" && death.cause.contains("SIGSEGV"))
        w.shutdown()
        node.broker.close()
        let r = try CLI.syneroym(["audit", "verify", "--data", node.data])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
    }

    // MARK: - Truncation and rewrites the signed head catches (seen: each answered "ok")

    @Test func entriesDeletedWithTheirCheckpointAreCaught() throws {
        let dir = try Self.log(entries: 180)
        try Self.tamper(dir, "DELETE FROM audit WHERE seq >= 130; DELETE FROM audit_checkpoint WHERE seq >= 130")
        let r = try Self.verify(dir)
        #expect(r.status == 1)
        #expect(r.stdout.hasPrefix("broken at entry 130: the log ends at entry 129, but the node's signed head"), "\(r.stdout)")
        #expect(r.stdout.contains("covers entry 180: entries were deleted"))
    }

    @Test func wipingBothTablesIsCaught() throws {
        let dir = try Self.log(entries: 20)
        try Self.tamper(dir, "DELETE FROM audit; DELETE FROM audit_checkpoint")
        let r = try Self.verify(dir)
        #expect(r.status == 1)
        #expect(r.stdout.contains("the log ends at entry 0, but the node's signed head"), "\(r.stdout)")
    }

    /// The chain is unkeyed, so anyone can recompute it: entries 150 to 180 replaced by a consistent chain of
    /// other entries, and the checkpoints that covered them deleted.
    @Test func aRecomputedTailIsCaught() throws {
        let dir = try Self.log(entries: 180)
        try Self.tamper(dir, "DELETE FROM audit WHERE seq >= 150; DELETE FROM audit_checkpoint WHERE seq >= 150")
        let forger = try AuditLog(path: dir + "/node.db", sign: { _ in [] }) // no key, no head file
        for i in 150...180 { forger.append(actor: "node", app: "hello", action: "test", decision: "ok", cause: "forged-\(i)") }
        let r = try Self.verify(dir)
        #expect(r.status == 1)
        #expect(r.stdout == "broken at entry 180: entry 180 is not the one the node's signed head (\(dir)/audit.head) covers: the log was rewritten\n")
    }

    /// Someone holding the node key can truncate the log and sign a new head; a head kept elsewhere still shows it.
    @Test func aHeadKeptElsewhereCatchesATruncationResigned() throws {
        let dir = try Self.log(entries: 100)
        let printed = try CLI.syneroym(["audit", "head", "--data", dir])
        #expect(printed.status == 0, "\(printed.stderr)")
        let kept = printed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(kept.hasPrefix("100."))
        #expect(try Self.verify(dir, ["--head", kept]).status == 0)
        // More entries, then the key holder cuts the log back to 90 and signs a head there.
        let broker = try Broker(dataDirectory: dir, node: NodeConfig())
        for i in 101...150 { broker.audit.append(actor: "node", app: "hello", action: "test", decision: "ok", cause: "more-\(i)") }
        broker.close()
        try Self.tamper(dir, "DELETE FROM audit WHERE seq > 90; DELETE FROM audit_checkpoint WHERE seq > 90")
        try FileManager.default.removeItem(atPath: dir + "/audit.head")
        let resigner = try Broker(dataDirectory: dir, node: NodeConfig())
        resigner.audit.checkpoint()
        resigner.close()
        #expect(try Self.verify(dir).stdout == "ok: 90 entries, 2 signed checkpoints, signed head at entry 90\n" + Self.notAsked)
        let r = try Self.verify(dir, ["--head", kept])
        #expect(r.status == 1)
        #expect(r.stdout == "broken at entry 91: the log ends at entry 90, but the head given with --head covers entry 100: entries were deleted\n")
    }

    @Test func aHeadThatIsNotOneIsAUsageError() throws {
        let dir = try Self.log(entries: 3)
        let r = try Self.verify(dir, ["--head", "100.not-a-head"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--head must be a head as `syneroym audit head` prints it"))
        // A well-formed head signed by another key.
        let other = try SigningKey.generate()
        let forged = AuditHead(seq: 3, timeNs: 1, hash: [UInt8](repeating: 7, count: 32),
                               signature: other.sign(domain: .node, [1, 2, 3]))
        let f = try Self.verify(dir, ["--head", forged.text])
        #expect(f.status == 1)
        #expect(f.stdout.contains("the head given with --head is not signed by this node's key"))
    }
}

/// Fails closed: a node that cannot write its audit log refuses calls and owner actions, says so on
/// `/v1/health`, and once it can write again records how many entries were lost. The write failure is real: the
/// node's `RLIMIT_FSIZE` is lowered to 0 from outside, as a full disk would fail its writes.
@Suite(.serialized) struct AuditFailClosedTests {
    static let manifest = """
        [app]
        id = "hostile"
        name = "Hostile"
        version = "1"
        abi = 1
        library = "libhostile.so"
        [methods]
        public = ["abort", "echo", "log_flood"]
        """

    static func setFileSizeLimit(_ pid: Int32, _ limit: String) throws {
        let r = try ProcessLauncher.run("/usr/bin/prlimit", ["--pid", "\(pid)", "--fsize=\(limit):unlimited"])
        guard r.status == 0 else { throw TestFailure("prlimit failed: \(r.output)") }
    }

    @Test func aNodeThatCannotAuditRefusesWorkUntilItCan() throws {
        let node = try ProcessNode.start(apps: [("hostile", "Tests/HostileApps/hostile.c", Self.manifest)])
        defer { node.stop() }
        #expect(try node.request("GET", "/v1/health").status == 200)
        try Self.setFileSizeLimit(node.pid, "0")
        // The worker's death must be audited, and cannot be.
        _ = try node.call("hostile", "abort", "{}")
        #expect(node.waitFor("cannot append to the audit log", seconds: 60))
        let refused = try node.call("hello", "echo", #"{"x":1}"#)
        #expect(refused.status == 503)
        #expect(refused.body.contains(#""code":"audit_unavailable""#), "\(refused.body)")
        #expect(refused.body.contains("cannot write its audit log"))
        let health = try node.request("GET", "/v1/health")
        #expect(health.status == 503)
        #expect(health.body.contains(#""status":"failing""#), "\(health.body)")
        let doctor = try CLI.syneroym(["doctor", "--data", node.data])
        #expect(doctor.status == 1)
        #expect(doctor.stdout.contains("FAIL  running node: PID \(node.pid) on 127.0.0.1:\(node.port) is failing (HTTP 503): the node cannot write its audit log"), "\(doctor.stdout)")
        #expect(node.isRunning)
        // Writable again: the next retry (at most a second later) records the gap, and work resumes.
        try Self.setFileSizeLimit(node.pid, "unlimited")
        var healthy = false
        for _ in 0..<600 where !healthy {
            healthy = try node.request("GET", "/v1/health").status == 200
            if !healthy { usleep(100_000) }
        }
        #expect(healthy)
        #expect(try node.call("hello", "echo", #"{"x":2}"#).status == 200)
        let healthyDoctor = try CLI.syneroym(["doctor", "--data", node.data])
        #expect(healthyDoctor.stdout.contains("ok    running node: PID \(node.pid) serves on 127.0.0.1:\(node.port) and is healthy"), "\(healthyDoctor.stdout)")
        let shown = try CLI.syneroym(["audit", "show", "--data", node.data, "--limit", "200"])
        #expect(shown.stdout.contains("audit.recovered\tok\t"), "\(shown.stdout)")
        #expect(shown.stdout.contains("could not be written since"))
    }
}
