import Foundation
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

    @Test func workersDieWithTheHost() throws {
        let lib = try TestSupport.buildC("Plugins/Examples/hello-c/hello.c", name: "hello-hostdeath")
        let dir = TestSupport.scratch + "/hostdeath-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir + "/manifests", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: lib, toPath: dir + "/manifests/libhello.so")
        try """
            [app]
            id = "hello"
            name = "Hello"
            version = "1.0.0"
            abi = 1
            library = "libhello.so"
            """.write(toFile: dir + "/manifests/hello.toml", atomically: true, encoding: .utf8)

        let node = Process()
        node.executableURL = URL(fileURLWithPath: TestSupport.products + "/syneroym")
        node.arguments = ["run", "--manifests", dir + "/manifests", "--profiles", TestSupport.root + "/sandbox-profiles",
                          "--data", dir + "/data"]
        let err = Pipe()
        node.standardError = err
        try node.run()
        // Wait (bounded) until the supervisor reports the worker started.
        var seen = ""
        let reader = err.fileHandleForReading
        while !seen.contains("event started(") {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        #expect(seen.contains("event started("), "\(seen)")
        let workers = Self.descendants(of: node.processIdentifier)
        // The template, and the worker's outer process, init and app.
        #expect(workers.count >= 4, "\(workers)")

        kill(node.processIdentifier, SIGKILL)
        node.waitUntilExit()
        var alive = workers.filter(Self.isRunning)
        for _ in 0..<1000 where !alive.isEmpty {
            usleep(10_000)
            alive = alive.filter(Self.isRunning)
        }
        #expect(alive.isEmpty, "still running after the host died: \(alive)")
    }
}
