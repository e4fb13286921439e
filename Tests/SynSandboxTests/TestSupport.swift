import Foundation
import SynSandbox
import SynWire
import Testing

/// Paths and builders shared by the sandbox tests: real C apps built with plain `cc`, real workers.
enum TestSupport {
    /// The repository root, from this file's location.
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The build products directory holding `synapp-worker` (the test bundle lives there too).
    static let products: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("synapp-worker").path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.path
    }()

    static var worker: String { products + "/synapp-worker" }

    /// A private directory for built libraries.
    static let scratch: String = {
        let dir = NSTemporaryDirectory() + "syneroym-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // Workers run as unprivileged ids: the host passes the library as a descriptor, but keep it readable.
        chmod(dir, 0o755)
        return dir
    }()

    /// Builds `source` (relative to the repo root) exactly as an app developer would: `cc -shared -fPIC`.
    static func buildC(_ source: String, name: String, extraFlags: [String] = []) throws -> String {
        let output = scratch + "/lib\(name).so"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["cc", "-shared", "-fPIC", "-O1", "-I", root + "/PluginABI/include", "-o", output,
                       root + "/" + source] + extraFlags
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TestFailure("cc failed for \(source)") }
        return output
    }

    /// A worker setup matching the shipped `default` profile, with test-sized limits.
    static func setup(appID: String, library: String, allow: [String] = [], threads: Bool = false,
                      maxFrameKB: Int = 64) -> WorkerSetup {
        var s = WorkerSetup()
        s.appID = appID
        s.libraryName = (library as NSString).lastPathComponent
        s.allow = ["read", "write", "brk", "mmap", "munmap", "mremap", "madvise", "exit_group", "getrandom",
                   "clock_gettime", "rt_sigprocmask", "rt_sigreturn", "getpid", "gettid", "tgkill"] + allow
        s.threads = threads
        s.addressSpace = 512 << 20
        s.maxMessage = UInt64(maxFrameKB * 1024)
        return s
    }

    static func spec(appID: String, library: String, setup: WorkerSetup? = nil, memoryMB: UInt64 = 64,
                     pids: Int = 16, timeoutMs: Int = 5000, maxFrameKB: Int = 64) -> WorkerSpec {
        WorkerSpec(appID: appID, libraryPath: library, config: [],
                   setup: setup ?? Self.setup(appID: appID, library: library, maxFrameKB: maxFrameKB),
                   memoryBytes: memoryMB << 20, pids: pids, cpuPercent: 100, callTimeoutMs: timeoutMs,
                   initTimeoutMs: timeoutMs, maxMessage: maxFrameKB * 1024, workerExecutable: worker)
    }

    /// Starts a worker and returns how it died (nil if it started).
    static func startDeath(_ spec: WorkerSpec) -> WorkerError? {
        do {
            let w = try WorkerProcess.start(spec)
            w.shutdown()
            return nil
        } catch { return error }
    }

    /// A healthy neighbour that must keep answering while hostile apps die.
    static let neighbour: WorkerProcess? = {
        guard let lib = try? buildC("Plugins/Examples/hello-c/hello.c", name: "hello-neighbour") else { return nil }
        return try? WorkerProcess.start(spec(appID: "hello", library: lib))
    }()

    /// Whether the neighbour still answers `echo`.
    static func neighbourAnswers() -> Bool {
        guard let n = neighbour, let r = try? n.handle(method: "echo", body: Array("still here".utf8)) else { return false }
        return r.body == Array("still here".utf8)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
