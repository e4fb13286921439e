import Foundation
public import SynConfig
public import SynSandbox
import SynWire

/// Paths and builders shared by the test targets: real C apps built with plain `cc`, real workers.
public enum TestSupport {
    /// The repository root, from this file's location.
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The build products directory holding `synapp-worker` (the test bundle lives there too).
    public static let products: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("synapp-worker").path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.path
    }()

    public static var worker: String { products + "/synapp-worker" }

    /// A private directory for built libraries.
    public static let scratch: String = {
        let dir = NSTemporaryDirectory() + "syneroym-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // Workers run as unprivileged ids: the host passes the library as a descriptor, but keep it readable.
        chmod(dir, 0o755)
        return dir
    }()

    /// Builds already made in this process, by their command line, and the lock that makes one build at a time
    /// (tests ask for the same libraries again and again).
    private static let builds = NSLock()
    nonisolated(unsafe) private static var built: Set<[String]> = []

    /// Builds `source` (relative to the repo root) exactly as an app developer would: `cc -shared -fPIC`.
    public static func buildC(_ source: String, name: String, extraFlags: [String] = []) throws -> String {
        let output = scratch + "/lib\(name).so"
        let key = [source, name] + extraFlags
        builds.lock()
        defer { builds.unlock() }
        if built.contains(key) { return output }
        // Tests run in parallel and may build the same library: compile to a private file, then rename it into
        // place atomically, so no test ever loads a half-written library.
        let temporary = output + ".tmp-\(UInt64.random(in: 0...UInt64.max))"
        let cc = try ProcessLauncher.run("/usr/bin/env", ["cc", "-shared", "-fPIC", "-O1", "-I", root + "/PluginABI/include",
                                                          "-o", temporary, root + "/" + source] + extraFlags)
        guard cc.status == 0 else { throw TestFailure("cc failed for \(source): \(cc.output)") }
        guard rename(temporary, output) == 0 else { throw TestFailure("cannot rename \(temporary): errno \(errno)") }
        built = built.filter { $0[1] != name }
        built.insert(key)
        return output
    }

    /// A fresh directory holding `manifests/` with the hello-c app (built with `cc`) and its shipped manifest,
    /// for tests that run `syneroym run` on it.
    public static func helloNodeDirectory(_ label: String) throws -> String {
        let lib = try buildC("Plugins/Examples/hello-c/hello.c", name: "hello-\(label)")
        let dir = scratch + "/\(label)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir + "/manifests", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: lib, toPath: dir + "/manifests/libhello.so")
        try FileManager.default.copyItem(atPath: root + "/manifests/hello.toml", toPath: dir + "/manifests/hello.toml")
        return dir
    }

    /// A shipped profile from `sandbox-profiles/`.
    public static func profile(_ name: String) throws -> SandboxProfile {
        try SandboxProfile.load(path: root + "/sandbox-profiles/\(name).toml")
    }

    /// A spec for `library` under a shipped profile, with test-sized limits.
    public static func spec(appID: String, library: String, profile name: String = "default", memoryMB: Int = 64,
                     pids: Int? = nil, timeoutMs: Int = 5000, maxFrameKB: Int = 64) throws -> WorkerSpec {
        var profile = try profile(name)
        profile.limits.memoryMB = memoryMB
        profile.limits.callTimeoutMs = timeoutMs
        profile.limits.maxFrameKB = maxFrameKB
        if let pids { profile.limits.pids = pids }
        let manifest = AppManifest(id: appID, name: appID, version: "1", abi: 1, library: library, sha256: nil,
                                   config: "", profile: name, capabilities: .init(), publicMethods: [], path: nil)
        var spec = WorkerSpec(manifest: manifest, profile: profile, library: library, workerExecutable: worker)
        spec.initTimeoutMs = timeoutMs
        return spec
    }

    /// Starts a worker and returns how it died (nil if it started).
    public static func startDeath(_ spec: WorkerSpec) -> WorkerError? {
        do {
            let w = try WorkerProcess.start(spec)
            w.shutdown()
            return nil
        } catch { return error }
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
