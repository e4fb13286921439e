import Foundation
import SynTestSupport
import Testing

/// When the host dies without cleaning up (SIGKILL), its workers must not outlive it: each worker's outer process
/// watches its link and kills its namespace when the host's end closes, and the template exits with the host.
@Suite struct HostDeathTests {
    /// Every descendant of `pid`, from /proc (children are listed per thread, so every task is read).
    static func descendants(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        let children = tasks.flatMap { task -> [Int32] in
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
            return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return children + children.flatMap { descendants(of: $0) }
    }

    /// Whether `pid` still runs (a zombie waiting for a reaper does not count).
    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    /// Starts `syneroym run` with the hello app; returns once the worker has started.
    static func startNode() throws -> (node: ChildProcess, stderr: FileHandle, log: String, data: String) {
        let dir = try TestSupport.helloNodeDirectory("hostdeath")
        let node = try ChildProcess(TestSupport.products + "/syneroym",
                                    ["run", "--manifests", dir + "/manifests", "--profiles", TestSupport.root + "/sandbox-profiles",
                                     "--data", dir + "/data", "--listen", "127.0.0.1:0"], stdout: .null)
        // A watchdog bounds every read below: should the node never start a worker, it is killed and the
        // reads end at end-of-file instead of hanging the suite.
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) { node.signal() }
        guard let stderr = node.errorHandle else { throw TestFailure("no stderr pipe") }
        let seen = readUntil("event=started(", from: stderr)
        return (node, stderr, seen, dir + "/data")
    }

    /// Reads `handle` until `marker` appears or the stream ends.
    static func readUntil(_ marker: String, from handle: FileHandle) -> String {
        var seen = ""
        while !seen.contains(marker) {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        return seen
    }

    /// Waits (bounded) for every pid in `pids` to stop running; returns those still running.
    static func waitGone(_ pids: [Int32]) -> [Int32] {
        var alive = pids.filter(isRunning)
        for _ in 0..<1000 where !alive.isEmpty {
            usleep(10_000)
            alive = alive.filter(isRunning)
        }
        return alive
    }

    @Test func workersDieWithTheHost() throws {
        let (node, _, seen, _) = try Self.startNode()
        #expect(seen.contains("event=started("), "\(seen)")
        let workers = Self.descendants(of: node.pid)
        // The template, and the worker's outer process, init and app.
        #expect(workers.count >= 4, "\(workers)")
        node.signal(SIGKILL)
        node.wait()
        let alive = Self.waitGone(workers)
        #expect(alive.isEmpty, "still running after the host died: \(alive)")
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalStopsTheNodeGracefully(_ signal: Int32) throws {
        let (node, stderr, seen, data) = try Self.startNode()
        #expect(seen.contains("event=started("), "\(seen)")
        let workers = Self.descendants(of: node.pid)
        node.signal(signal)
        let rest = Self.readUntil("node stopped", from: stderr)
        #expect(node.wait() == 0, "the node did not exit cleanly")
        #expect(rest.contains("event=stopped(app: \"hello\")"), "\(rest)")
        #expect(Self.waitGone(workers).isEmpty)
        // The node's own management actions are in the audit log, whose chain and signatures verify.
        let shown = try CLI.syneroym(["audit", "show", "--data", data])
        for action in ["config.create", "node.start", "node.stop"] { #expect(shown.stdout.contains(action), "\(shown.stdout)") }
        #expect(shown.stdout.contains("graceful shutdown"))
        #expect(try CLI.syneroym(["audit", "verify", "--data", data]).status == 0)
    }
}

