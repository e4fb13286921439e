import ArgumentParser
import CSynSys
import Foundation
import SynConfig
import SynSandbox
import SynWire
import SynSystem

/// `syneroym bench`: runtime benchmarks, each printing one JSON object. Speed lives here, not in tests.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the sandboxed runtime (JSON output).",
        subcommands: [BenchRTT.self, BenchColdStart.self, BenchMemory.self, BenchKV.self, BenchSig.self, BenchHomeServices.self, BenchFoodMesh.self, BenchMessaging.self, BenchMessagingNet.self,
                      BenchTLSPing.self, BenchNet.self, BenchBackup.self])

    struct Common: ParsableArguments {
        @Option(help: "The app to measure.") var manifest: String = "manifests/hello.toml"
        @Option(help: "A sandbox profile file (default: the manifest's).") var profile: String?
        @Option(help: "Pin both ends to this CPU (-1: do not pin).") var cpu: Int32 = 0
    }

    static func spec(_ common: Common) throws -> WorkerSpec {
        do {
            var (_, _, spec) = try AppLoader.spec(manifestPath: common.manifest, profilePath: common.profile)
            spec.setup.pinCPU = common.cpu
            return spec
        } catch {
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            throw ExitCode(2)
        }
    }

    /// Loads a manifest and its profile, exiting 2 with the message on bad input.
    static func load(_ manifest: String) throws -> (AppManifest, SandboxProfile, WorkerSpec) {
        do { return try AppLoader.spec(manifestPath: manifest, profilePath: nil) } catch {
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            throw ExitCode(2)
        }
    }

}

/// Per-call overhead: a full host→sandboxed worker→app→host call against a raw 64-byte `SOCK_SEQPACKET`
/// ping-pong between two plain processes, measured in alternating rounds of the same run.
struct BenchRTT: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rtt", abstract: "Call round trip vs raw seqpacket.")
    @OptionGroup var common: Bench.Common
    @Option(help: "Total measuring time, split evenly between baseline and calls.") var seconds: Double = 4
    @Option(help: "Alternating rounds.") var rounds: Int = 10
    @Flag(help: "Diagnostic: the same worker code without namespaces or seccomp, to split sandbox cost from code cost.")
    var unsandboxed = false

    func run() throws {
        if common.cpu >= 0 { _ = csyn_pin_cpu(0, common.cpu) }
        var spec = try Bench.spec(common)
        spec.setup.unsandboxed = unsandboxed
        let worker = try WorkerProcess.start(spec)
        defer { worker.shutdown() }
        let echo = try EchoPeer(cpu: common.cpu)
        defer { echo.stop() }
        // The same ping-pong with the peer in a memory+pids cgroup like the worker's: the kernel's cgroup
        // accounting then costs both paths alike, leaving only the runtime's own cost in the ratio.
        let matchedEcho = try EchoPeer(cpu: common.cpu)
        defer { matchedEcho.stop() }
        let matched = MatchedCgroup(name: "bench-echo", memoryBytes: spec.memoryBytes, pids: spec.pids + 2)
        let matchedOK = matched.unavailable == nil && matched.add(pid: matchedEcho.processID)
        let payload = [UInt8](repeating: 0x5A, count: 64)
        let body = Array("hello-bench".utf8)
        // Warm both paths.
        for _ in 0..<2000 {
            echo.roundTrip(payload)
            matchedEcho.roundTrip(payload)
            _ = try worker.handle(method: "echo", body: body)
        }
        var raw: [Double] = [], rawMatched: [Double] = [], calls: [Double] = []
        let slice = UInt64(seconds / Double(rounds * 2) * 1e9)
        for _ in 0..<rounds {
            if matchedOK { Self.sample(for: slice / 2, into: &rawMatched) { matchedEcho.roundTrip(payload) } }
            Self.sample(for: slice, into: &raw) { echo.roundTrip(payload) }
            try Self.sample(for: slice, into: &calls) {
                let reply = try worker.handle(method: "echo", body: body)
                guard reply.body == body else { throw CLIError("the app answered wrongly during the benchmark") }
            }
        }
        let callSeconds = calls.reduce(0, +) / 1e6
        let rawP50 = Stats.quantile(raw, 0.5), callP50 = Stats.quantile(calls, 0.5)
        print(JSONText.object([
            ("raw_seqpacket_rtt_us_p50", JSONText.number(rawP50)),
            ("call_rtt_us_p50", JSONText.number(callP50)),
            ("call_rtt_us_p99", JSONText.number(Stats.quantile(calls, 0.99))),
            ("calls_per_s", JSONText.number(Double(calls.count) / callSeconds, places: 0)),
            ("ratio_p50", JSONText.number(callP50 / rawP50, places: 3)),
            ("raw_seqpacket_cgroup_rtt_us_p50", matchedOK ? JSONText.number(Stats.quantile(rawMatched, 0.5)) : "null"),
            ("ratio_p50_vs_cgroup_baseline",
             matchedOK ? JSONText.number(callP50 / Stats.quantile(rawMatched, 0.5), places: 3) : "null"),
            ("samples", String(calls.count)),
            ("pinned_cpu", String(common.cpu)),
            ("sandboxed", unsandboxed ? "false" : "true"),
        ]))
    }
}

/// Cold start: from spawn to the app's first reply (its `init`), with the full sandbox, against
/// `bwrap --unshare-all … /bin/true` measured in the same run.
extension BenchRTT {
    /// Times `body` repeatedly for `durationNs`, appending each run's microseconds to `samples`.
    static func sample(for durationNs: UInt64, into samples: inout [Double], _ body: () throws -> Void) rethrows {
        let end = MonotonicClock.nowNs() + Int64(clamping: durationNs)
        while true {
            let t0 = MonotonicClock.nowNs()
            try body()
            let t1 = MonotonicClock.nowNs()
            samples.append(Double(t1 - t0) / 1000)
            if t1 >= end { return }
        }
    }
}

struct BenchColdStart: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "coldstart", abstract: "Spawn to first reply, full sandbox.")
    @OptionGroup var common: Bench.Common
    @Option(help: "Runs of each.") var runs: Int = 50
    @Flag(help: "Serve the app's host calls from a throwaway broker granting its manifest (for apps whose init migrates a database).")
    var broker = false

    func run() throws {
        var spec = try Bench.spec(common)
        spec.setup.pinCPU = -1
        var hostCalls: any HostCallHandler = UnsupportedHostCalls()
        let scratch = NSTemporaryDirectory() + "syneroym-bench-cold-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        if broker {
            let manifest = try Bench.load(common.manifest).0
            let node = try NodeSetup.nodeConfig(data: scratch, manifests: [manifest], announce: false)
            hostCalls = try NodeSetup.broker(data: scratch, node: node, manifests: [manifest])
        }
        var ours: [Double] = [], bwrap: [Double] = []
        let bwrapPath = ["/usr/bin/bwrap", "/bin/bwrap"].first { FileManager.default.isExecutableFile(atPath: $0) }
        for _ in 0..<max(runs, 1) {
            let t0 = MonotonicClock.nowNs()
            let worker = try WorkerProcess.start(spec, hostCalls: hostCalls)
            let t1 = MonotonicClock.nowNs()
            worker.shutdown()
            ours.append(Double(t1 - t0) / 1e6)
            if let bwrapPath, let ms = Self.timeBwrap(bwrapPath) { bwrap.append(ms) }
        }
        var pairs: [(String, String)] = [
            ("cold_start_ms_p50", JSONText.number(Stats.quantile(ours, 0.5), places: 3)),
            ("cold_start_ms_p90", JSONText.number(Stats.quantile(ours, 0.9), places: 3)),
        ]
        if !bwrap.isEmpty {
            let b = Stats.quantile(bwrap, 0.5)
            pairs.append(("bwrap_true_ms_p50", JSONText.number(b, places: 3)))
            pairs.append(("ratio_vs_bwrap_p50", JSONText.number(Stats.quantile(ours, 0.5) / b, places: 3)))
        }
        pairs.append(("runs", String(ours.count)))
        pairs.append(("app", JSONText.string(spec.appID)))
        print(JSONText.object(pairs))
    }

    /// `bwrap --unshare-all --ro-bind /usr /usr (+ lib symlinks) /bin/true`, spawn to exit, in ms.
    static func timeBwrap(_ path: String) -> Double? {
        let argv = ["bwrap", "--unshare-all", "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
                    "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin", "/bin/true"]
        var pid: pid_t = 0
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let t0 = MonotonicClock.nowNs()
        guard posix_spawn(&pid, path, nil, nil, cArgs, environ) == 0 else { return nil }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let t1 = MonotonicClock.nowNs()
        return csyn_wifexited(status) != 0 && csyn_wexitstatus(status) == 0 ? Double(t1 - t0) / 1e6 : nil
    }
}

/// Memory: private (unshared) memory of a running worker's processes, from /proc/PID/smaps_rollup.
struct BenchMemory: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "memory", abstract: "Worker private memory.")
    @OptionGroup var common: Bench.Common
    @Flag(help: "Serve the app's host calls from a throwaway broker granting its manifest: the worker opens its database.")
    var broker = false
    @Option(help: "The method called once before measuring, with body \"warm\".") var warm: String = "echo"

    func run() throws {
        var spec = try Bench.spec(common)
        spec.setup.pinCPU = -1
        var hostCalls: any HostCallHandler = UnsupportedHostCalls()
        let scratch = NSTemporaryDirectory() + "syneroym-bench-memory-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        if broker {
            let manifest = try Bench.load(common.manifest).0
            let node = try NodeSetup.nodeConfig(data: scratch, manifests: [manifest], announce: false)
            hostCalls = try NodeSetup.broker(data: scratch, node: node, manifests: [manifest])
        }
        let worker = try WorkerProcess.start(spec, hostCalls: hostCalls)
        defer { worker.shutdown() }
        _ = try worker.handle(method: warm, body: Array("warm".utf8))
        let outer = worker.pid
        let initPID = Self.children(outer).first ?? 0
        let appPID = Self.children(initPID).first ?? 0
        let app = Self.privateKB(appPID), initKB = Self.privateKB(initPID), outerKB = Self.privateKB(outer)
        print(JSONText.object([
            ("app_private_kb", String(app)), ("init_private_kb", String(initKB)), ("outer_private_kb", String(outerKB)),
            ("worker_private_kb_total", String(app + initKB + outerKB)),
            ("app_pss_kb", String(Self.field(appPID, "Pss:"))),
        ]))
    }

    /// Child processes of `pid`, started from any of its threads (/proc/PID/task/TID/children is per thread).
    static func children(_ pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { tid -> [Int32] in
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/children", encoding: .utf8)) ?? ""
            return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    /// Nanoseconds `pid` has run on a CPU, all its threads (the first field of /proc/PID/schedstat is the leader's;
    /// each task's own file is summed).
    static func cpuNs(_ pid: Int32) -> UInt64 {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.reduce(0) { sum, tid in
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/schedstat", encoding: .utf8)) ?? ""
            return sum + (UInt64(text.split(separator: " ").first ?? "") ?? 0)
        }
    }

    static func privateKB(_ pid: Int32) -> Int { field(pid, "Private_Clean:") + field(pid, "Private_Dirty:") }

    static func field(_ pid: Int32, _ name: String) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return 0
    }
}
