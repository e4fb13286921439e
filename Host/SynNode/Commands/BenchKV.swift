import SynAppStore
import ArgumentParser
import CSynSys
import Foundation
import SynBroker
import SynSandbox
import SynSQLite
import SynWire
import SynSystem

/// Storage in the app's worker against baselines measured in the same run: a request doing kv_put + kv_get against
/// a request doing nothing (a bare round trip) and against the same transaction made directly, and 10,000 puts over
/// 100 requests against the same writes made directly in this process through the same storage code (no sandbox,
/// no IPC).
struct BenchKV: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kv", abstract: "KV in the app's worker vs baselines.")
    @Option(help: "The storage app's manifest.") var manifest: String = "Benchmarks/store.toml"
    @Option(help: "Pin both ends to this CPU (-1: do not pin).") var cpu: Int32 = 0
    @Option(help: "Round trips per latency sample set.") var iterations: Int = 20_000
    @Flag(help: "Diagnostic: the same worker code without the sandbox (so a profiler can read its symbols).")
    var unsandboxed = false

    func run() throws {
        if cpu >= 0 { _ = csyn_pin_cpu(0, cpu) }
        let data = NSTemporaryDirectory() + "syneroym-bench-kv-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: data) }
        let (loaded, _, baseSpec) = try Bench.load(manifest)
        var spec = baseSpec
        spec.setup.pinCPU = cpu
        spec.setup.unsandboxed = unsandboxed
        let node = try NodeSetup.nodeConfig(data: data, manifests: [loaded], announce: false)
        let broker = try NodeSetup.broker(data: data, node: node, manifests: [loaded])
        let worker = try WorkerProcess.start(spec, hostCalls: broker)
        defer { worker.shutdown() }

        // Latency: rotate no-op, put+get asking for versions, and put+get without versions (both run in the worker).
        var noop: [Double] = [], putget: [Double] = [], blind: [Double] = []
        let value = Array(String(repeating: "v", count: 64).utf8)
        let methods = ["noop", "putget", "putget_blind"]
        for round in 0..<(iterations * 3 + 3000) {
            let t0 = MonotonicClock.nowNs()
            let r = try worker.handle(method: methods[round % 3], body: round % 3 == 0 ? [] : value)
            let t1 = MonotonicClock.nowNs()
            guard r.status == 0 else { throw CLIError("the app failed during the benchmark") }
            guard round >= 3000 else { continue }
            let us = Double(t1 - t0) / 1000
            switch round % 3 {
            case 0: noop.append(us)
            case 1: putget.append(us)
            default: blind.append(us)
            }
        }

        // Throughput: 10,000 puts in 100 requests (blind, then with versions), vs 10,000 direct writes in 100
        // transactions; nine alternating rounds on fresh keys, medians kept. Each ratio is the median of the rounds'
        // own ratios, so drift during the run hits both sides of every ratio alike.
        // The direct baseline writes the same keys into a database of its own that grows the same way.
        var blindRates: [Double] = [], syncRates: [Double] = [], directRates: [Double] = [], directSyncRates: [Double] = []
        try FileManager.default.createDirectory(atPath: data + "/direct", withIntermediateDirectories: true)
        let direct: StorageBaseline
        do { direct = try StorageBaseline(directory: data + "/direct") } catch { throw CLIError("baseline failed: \(error.message)") }
        for repetition in 0..<9 {
            let base = repetition * 100_000
            blindRates.append(try Self.puts(worker, "putn_blind", first: base))
            syncRates.append(try Self.puts(worker, "putn", first: base + 50_000))
            do {
                directRates.append(10_000 / (Double(try direct.puts(first: base, requests: 100, putsPerRequest: 100, wantVersion: false)) / 1e9))
                directSyncRates.append(10_000 / (Double(try direct.puts(first: base + 50_000, requests: 100, putsPerRequest: 100, wantVersion: true)) / 1e9))
            } catch { throw CLIError("baseline failed: \(error.message)") }
        }
        // The SQLite work of a put+get request alone, in this process: what the request adds to a no-op at best.
        let transactions: [Double]
        try FileManager.default.createDirectory(atPath: data + "/txn", withIntermediateDirectories: true)
        do {
            transactions = try StorageBaseline.putGetTransactions(directory: data + "/txn", rounds: iterations).map { Double($0) / 1000 }
        } catch { throw CLIError("baseline failed: \(error.message)") }
        let noopP50 = Stats.quantile(noop, 0.5), putgetP50 = Stats.quantile(putget, 0.5), blindP50 = Stats.quantile(blind, 0.5)
        let blindRate = Stats.quantile(blindRates, 0.5), syncRate = Stats.quantile(syncRates, 0.5)
        let directRate = Stats.quantile(directRates, 0.5), directSyncRate = Stats.quantile(directSyncRates, 0.5)
        print(JSONText.object([
            ("noop_call_us_p50", JSONText.number(noopP50)),
            ("put_get_blind_call_us_p50", JSONText.number(blindP50)),
            ("put_get_blind_ratio_p50", JSONText.number(blindP50 / noopP50, places: 3)),
            ("direct_put_get_transaction_us_p50", JSONText.number(Stats.quantile(transactions, 0.5))),
            ("put_get_versioned_call_us_p50", JSONText.number(putgetP50)),
            ("put_get_versioned_ratio_p50", JSONText.number(putgetP50 / noopP50, places: 3)),
            ("kv_blind_puts_per_s", JSONText.number(blindRate, places: 0)),
            ("kv_versioned_puts_per_s", JSONText.number(syncRate, places: 0)),
            ("direct_sqlite_puts_per_s", JSONText.number(directRate, places: 0)),
            ("kv_blind_vs_direct_rate", JSONText.number(Stats.quantile(zip(blindRates, directRates).map { $0 / $1 }, 0.5), places: 3)),
            ("direct_sqlite_versioned_puts_per_s", JSONText.number(directSyncRate, places: 0)),
            ("kv_versioned_vs_direct_rate", JSONText.number(Stats.quantile(zip(syncRates, directSyncRates).map { $0 / $1 }, 0.5), places: 3)),
        ]))
    }

    /// Puts per second for 10,000 puts of keys `k<first>...` in 100 requests of `method`.
    static func puts(_ worker: WorkerProcess, _ method: String, first: Int) throws -> Double {
        let t0 = MonotonicClock.nowNs()
        for request in 0..<100 {
            let r = try worker.handle(method: method, body: Array("\(first + request * 100):100".utf8))
            guard r.status == 0, r.body == Array("ok".utf8) else {
                throw CLIError("\(method) failed: \(String(decoding: r.body, as: UTF8.self))")
            }
        }
        return 10_000 / (Double(MonotonicClock.nowNs() - t0) / 1e9)
    }
}
