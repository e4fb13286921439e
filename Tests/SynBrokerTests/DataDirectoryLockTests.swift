import Foundation
import SynTestSupport
import SynBroker
import Testing

/// One node per data directory: a second `run`, or `init`, on a directory a process holds exits 2 at once and
/// names the holder's PID; the directory is free again once its holder closes its databases.
@Suite(.serialized) struct DataDirectoryLockTests {
    @Test func aHeldDirectoryRefusesASecondHolderUntilReleased() throws {
        let dir = TestSupport.scratch + "/lock-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let first = try DataDirectoryLock(directory: dir)
        #expect(try String(contentsOfFile: dir + "/node.lock", encoding: .utf8) == "\(getpid())\n")
        do {
            _ = try DataDirectoryLock(directory: dir)
            Issue.record("a second lock on a held directory was granted")
        } catch {
            #expect(error.code == .dataDirectoryInUse)
            #expect(error.message.contains("syneroym process \(getpid())"))
        }
        first.release()
        let again = try DataDirectoryLock(directory: dir)
        again.release()
    }

    @Test func initOnAHeldDirectoryExitsTwoNamingTheHolder() throws {
        let dir = TestSupport.scratch + "/lock-init-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let held = try DataDirectoryLock(directory: dir)
        defer { held.release() }
        let result = try CLI.syneroym(["init", "--data", dir, "--manifests", TestSupport.root + "/manifests"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("in use by syneroym process \(getpid())"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/node.toml"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/node.db"))
    }

    /// Seen: a second `run` stayed silent for about 10 s, then answered every call 503 "database is locked".
    @Test func aSecondRunOnARunningNodesDirectoryExitsTwoAtOnce() throws {
        let node = try ProcessNode.start(apps: [])
        defer { node.stop() }
        let second = try ChildProcess(TestSupport.products + "/syneroym",
                                      ["run", "--data", node.data, "--manifests", TestSupport.root + "/manifests", "--listen", "127.0.0.1:0"],
                                      stdout: .null)
        // A guard only: a node that ignored the lock would serve until killed, and the test would then fail.
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) { second.signal() }
        let stderr = second.readErrors()
        #expect(second.wait() == 2, "\(stderr)")
        #expect(stderr.contains("in use by syneroym process \(node.pid)"), "\(stderr)")
        #expect(node.isRunning)
        #expect(try node.call("hello", "echo", #"{"still":"serving"}"#).status == 200)
    }

    /// A client command finds a running node on its data directory through the address the node noted in
    /// node.lock (here a port picked at start, not node.toml's), and a --data that does not exist is an error,
    /// not a silent fall-back to another node.
    @Test func clientCommandsFindTheNodeOrSayThereIsNone() throws {
        let node = try ProcessNode.start(apps: [])
        defer { node.stop() }
        let listed = try CLI.syneroym(["apps", "list", "--data", node.data])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("hello"), "\(listed.stdout)")
        let missing = TestSupport.scratch + "/no-such-node-\(UUID().uuidString)"
        let refused = try CLI.syneroym(["apps", "list", "--data", missing])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("there is no node data directory at \(missing)"), "\(refused.stderr)")
    }

    /// Usage errors exit 2, as the README says (ArgumentParser's own default is 64).
    @Test func usageErrorsExitTwo() throws {
        let r = try CLI.syneroym(["audit", "show", "--limit", "many"])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("--limit"))
        #expect(try CLI.syneroym(["no-such-command"]).status == 2)
    }
}
