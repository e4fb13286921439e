import Foundation
import SynTestSupport
import Testing

/// The review's attack on the node through SQL, made by a hostile app against a real node process. Each attack
/// runs in the app's own worker: the node keeps its pid and its memory, hello keeps answering, and the attacker
/// gets an error or dies. One node at a time: the attacks load the machine, and other suites time things.
@Suite(.serialized) struct HostileSQLTests {
    static let methods = ["sql", "query", "put", "commit_then_crash", "temp_fill", "direct_fts3", "direct_zeroblob",
                          "direct_open", "direct_spin", "grow_fds"]
    static let manifest = """
        [app]
        id = "sqlattack"
        name = "SQL attack"
        version = "1"
        abi = 1
        library = "libsqlattack.so"
        [capabilities]
        storage.kv = true
        storage.sql = true
        [methods]
        public = [\(methods.map { "\"\($0)\"" }.joined(separator: ", "))]
        """
    /// The quota the tests give the attacker.
    static let quotaMB = 2
    /// The node serves three small apps in about 40 MiB; an attack that reached it would take far more.
    static let hostBoundMB = 150

    static func node() throws -> ProcessNode {
        try ProcessNode.start(apps: [("sqlattack", "Tests/HostileApps/sqlattack.c", manifest)],
                              limits: ["call_timeout_ms": "2000"]) { toml in
            toml.replacingOccurrences(of: "[apps.sqlattack]\nenabled = true\nprofile = \"default\"\nstorage_quota_mb = 64",
                                      with: "[apps.sqlattack]\nenabled = true\nprofile = \"default\"\nstorage_quota_mb = \(quotaMB)")
        }
    }

    static func sql(_ node: ProcessNode, _ method: String, _ text: String = "") throws -> (status: Int, body: String) {
        try node.call("sqlattack", method, "\"" + text + "\"")
    }

    /// The node is the process it was, within its memory bound, and its other app answers.
    static func expectUntouched(_ node: ProcessNode, pid: Int32, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(node.isRunning && node.pid == pid, sourceLocation: sourceLocation)
        #expect(node.residentMB > 0 && node.residentMB < hostBoundMB, "node RSS \(node.residentMB) MiB", sourceLocation: sourceLocation)
        let echo = try node.call("hello", "echo", #"{"still":"here"}"#)
        #expect(echo.status == 200 && echo.body == #"{"still":"here"}"#, "\(echo)", sourceLocation: sourceLocation)
    }

    @Test func theFTS3TokenizerInjectionReachesOnlyTheAttacker() async throws {
        try await offThePool {
            let node = try Self.node()
            let pid = node.pid
            // Through the app's own connection the two-argument form is switched off.
            let injected = try Self.sql(node, "query", "SELECT fts3_tokenizer('evil', x'4141414141414141')")
            #expect(injected.body.hasPrefix("ERR -2") || injected.body.hasPrefix("ERR -3"), "\(injected)")
            // With SQLite's C API the app turns it on for a connection of its own and calls the pointer it chose:
            // it crashes itself, and only itself.
            let direct = try Self.sql(node, "direct_fts3")
            #expect(direct.status == 502 && direct.body.contains("worker_died") && direct.body.contains("crash"), "\(direct)")
            try Self.expectUntouched(node, pid: pid)
        }
    }

    @Test func theZeroblobBombSpendsOnlyTheAttackersMemory() async throws {
        try await offThePool {
            let node = try Self.node()
            let pid = node.pid
            let bomb = "SELECT length(a||x'00'), length(b||x'00'), length(c||x'00') FROM (SELECT zeroblob(900000000) a, zeroblob(900000000) b, zeroblob(900000000) c)"
            let limited = try Self.sql(node, "query", bomb)
            #expect(limited.status == 200 && limited.body.hasPrefix("ERR -8"), "\(limited)")
            // Past the length limit (raised on its own connection) the worker's memory limit stops it; on a loaded
            // machine, touching that much memory may outlast the call's time limit first, which stops it as surely.
            let direct = try Self.sql(node, "direct_zeroblob")
            let stopped = (direct.status == 502 && direct.body.contains("memory_quota")) || direct.body.contains("survived rc 7")
                || (direct.status == 504 && direct.body.contains("call_timeout"))
            #expect(stopped, "\(direct)")
            try Self.expectUntouched(node, pid: pid)
        }
    }

    @Test func temporaryTablesLiveInTheWorkersMemoryNotOnDisk() async throws {
        try await offThePool {
            let node = try Self.node()
            let pid = node.pid
            let refused = try Self.sql(node, "sql", "PRAGMA temp_store=FILE")
            #expect(refused.body.hasPrefix("ERR -3"), "\(refused)")
            let hoard = try Self.sql(node, "temp_fill")
            // Killed by the cgroup, or (where the node has no cgroups) out of address space: SQLite's error, and the
            // call, whose transaction SQLite rolled back, fails with 507.
            let stopped = (hoard.status == 502 && hoard.body.contains("memory_quota"))
                || ([200, 507].contains(hoard.status) && hoard.body.contains("out of memory"))
            #expect(stopped, "\(hoard)")
            // Nothing outside the four database files (the database, its WAL and index, and a backup's copy), and
            // they stay within the quota.
            let dir = node.data + "/apps/sqlattack"
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir)) == ["app.key", "app.db", "app.db-wal", "app.db-shm", "app.db-backup"])
            for name in ["app.db", "app.db-wal", "app.db-shm", "app.db-backup"] {
                let size = (try FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.size] as? Int) ?? -1
                #expect(size >= 0 && size <= Self.quotaMB << 20, "\(name): \(size) bytes")
            }
            try Self.expectUntouched(node, pid: pid)
        }
    }

    @Test func noFileGrowsPastTheQuotaWhateverTheAppDoes() async throws {
        try await offThePool {
            let node = try Self.node()
            let pid = node.pid
            #expect(try Self.sql(node, "sql", "CREATE TABLE big(b BLOB)").body == "ok 0")
            let fill = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) INSERT INTO big SELECT zeroblob(4096) FROM c"
            let full = try Self.sql(node, "sql", fill)
            #expect(full.body.hasPrefix("ERR -4") && full.body.contains("storage_quota_mb"), "\(full)")
            // The kernel refuses what SQLite was not asked: growing the files directly.
            let direct = try Self.sql(node, "grow_fds")
            #expect(direct.body.hasPrefix("files ") && direct.body.contains("refused"), "\(direct)")
            if let files = Int(direct.body.split(separator: " ")[1]), let refused = Int(direct.body.split(separator: " ")[3]) {
                #expect(files >= 3 && refused == 2 * files, "\(direct)")
            }
            let dir = node.data + "/apps/sqlattack"
            for name in ["app.db", "app.db-wal", "app.db-shm", "app.db-backup"] {
                let size = (try FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.size] as? Int) ?? -1
                #expect(size >= 0 && size <= Self.quotaMB << 20, "\(name): \(size) bytes")
            }
            // The app's database is intact and usable within its quota.
            #expect(try Self.sql(node, "query", "PRAGMA integrity_check").body == #"[["ok"]]"#)
            #expect(try Self.sql(node, "put", "after=ok").body == "ok")
            try Self.expectUntouched(node, pid: pid)
        }
    }

    @Test func aCommitInsideACallIsRefusedSoACrashKeepsNothing() async throws {
        try await offThePool {
            let node = try Self.node()
            let pid = node.pid
            let crashed = try Self.sql(node, "commit_then_crash")
            #expect(crashed.status == 502 && crashed.body.contains("crash"), "\(crashed)")
            #expect(!node.log.contains("COMMIT went through"))
            let kept = try Self.sql(node, "query", "SELECT count(*) FROM syn_kv WHERE key = x'78'")
            #expect(kept.body == "[[0]]", "\(kept)")
            try Self.expectUntouched(node, pid: pid)
        }
    }

    @Test func aSQLiteOperationPastTheDeadlineEndsWithTheWorker() async throws {
        try await offThePool {
            let node = try Self.node()
            let pid = node.pid
            // A query on the app's own connection with no progress handler: only the worker's death ends it.
            let spun = try Self.sql(node, "direct_spin")
            #expect(spun.status == 504 && spun.body.contains("call_timeout"), "\(spun)")
            try Self.expectUntouched(node, pid: pid)
            #expect(try Self.sql(node, "put", "after=spin").body == "ok")
        }
    }

    @Test func sqliteInTheWorkerOpensNoOtherFile() async throws {
        try await offThePool {
            let node = try Self.node()
            let pid = node.pid
            #expect(try Self.sql(node, "sql", "ATTACH DATABASE '/tmp/stolen.db' AS s").body.hasPrefix("ERR -3"))
            #expect(try Self.sql(node, "sql", "VACUUM INTO '/tmp/stolen.db'").body.hasPrefix("ERR -3"))
            let opened = try Self.sql(node, "direct_open")
            #expect(opened.body.hasPrefix("ERR 14 "), "\(opened)") // SQLITE_CANTOPEN from the descriptor jail
            #expect(!FileManager.default.fileExists(atPath: "/tmp/stolen.db"))
            try Self.expectUntouched(node, pid: pid)
        }
    }
}
