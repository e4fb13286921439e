import Foundation
import SynBroker
import SynSandbox
import SynTestSupport
import Testing

/// The syscalls a worker gains for storage (pread64, pwrite64, fsync, fdatasync, fstat, ftruncate, getpid,
/// clock_nanosleep, and fcntl with SQLite's commands) reach only the descriptors it was given: each death test
/// shows what still kills the app.
@Suite struct StorageSandboxTests {
    static let library: String? = try? TestSupport.buildC("Tests/HostileApps/sqlattack.c", name: "sqlattack")

    static func worker() throws -> (WorkerProcess, BrokerNode) {
        let node = try BrokerNode(apps: ["sqlattack"])
        let lib = try #require(library)
        return (try WorkerProcess.start(try TestSupport.spec(appID: "sqlattack", library: lib), hostCalls: node.broker), node)
    }

    @Test(arguments: [("sys_openat_create", "openat"), ("sys_openat_read", "openat"), ("sys_unlink", "unlink"),
                      ("sys_rename", "rename"), ("sys_fcntl_lease", "fcntl"), ("sys_fcntl_setown", "fcntl"),
                      ("sys_stat_path", "newfstatat")])
    func whatStorageDoesNotAllowStillKills(_ method: String, _ syscall: String) throws {
        let (w, _) = try Self.worker()
        #expect(try BrokerNode.call(w, "put", "k=v") == "ok")
        #expect(throws: WorkerError.self) { try w.handle(method: method) }
        #expect(w.death?.outcome == .seccompViolation, "\(String(describing: w.death))")
        #expect(w.death?.detail == syscall, "\(String(describing: w.death))")
        #expect(TestSupport.neighbourAnswers())
    }

    @Test func theStorageSyscallsWorkOnTheAppsOwnFiles() throws {
        let (w, node) = try Self.worker()
        defer { w.shutdown() }
        #expect(try BrokerNode.call(w, "sql", "CREATE TABLE t(x)") == "ok 0")
        #expect(try BrokerNode.call(w, "sql", "INSERT INTO t VALUES (1)") == "ok 1")
        #expect(try BrokerNode.call(w, "query", "SELECT x FROM t") == "[[1]]")
        // Checkpointing into the database file syncs and truncates.
        #expect(try BrokerNode.call(w, "query", "PRAGMA integrity_check") == #"[["ok"]]"#)
        // The host's three descriptors and SQLite's copies of those it opened; none may grow past the quota.
        let sizes = try BrokerNode.call(w, "grow_fds").split(separator: " ")
        #expect(sizes.count == 4 && Int(sizes[1]) ?? 0 >= 3 && Int(sizes[3]) == 2 * (Int(sizes[1]) ?? 0), "\(sizes)")
        #expect(FileManager.default.fileExists(atPath: node.data + "/apps/sqlattack/app.db"))
    }
}
