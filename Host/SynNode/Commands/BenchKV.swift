import ArgumentParser
import CSynSys
import Foundation
import SynBroker
import SynSandbox
import SynSQLite
import SynWire

/// Storage through the broker against baselines measured in the same run: a request doing kv_put + kv_get
/// against a request doing nothing (a bare round trip), and 10,000 puts over 100 requests against the same
/// writes made directly in the host process through the same storage code (no sandbox, no IPC).
struct BenchKV: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kv", abstract: "KV through the broker vs baselines.")
    @Option(help: "The storage app's manifest.") var manifest: String = "Benchmarks/store.toml"
    @Option(help: "Pin both ends to this CPU (-1: do not pin).") var cpu: Int32 = 0
    @Option(help: "Round trips per latency sample set.") var iterations: Int = 20_000

    func run() throws {
        if cpu >= 0 { _ = csyn_pin_cpu(0, cpu) }
        let data = NSTemporaryDirectory() + "syneroym-bench-kv-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: data) }
        let (loaded, _, baseSpec) = try Bench.load(manifest)
        var spec = baseSpec
        spec.setup.pinCPU = cpu
        let node = try NodeSetup.nodeConfig(data: data, manifests: [loaded], announce: false)
        let broker = try NodeSetup.broker(data: data, node: node, manifests: [loaded])
        let worker = try WorkerProcess.start(spec, hostCalls: broker)
        defer { worker.shutdown() }

        // Latency: alternate no-op and put+get requests.
        var noop: [Double] = [], putget: [Double] = []
        let value = Array(String(repeating: "v", count: 64).utf8)
        for round in 0..<(iterations * 2 + 2000) {
            let warm = round < 2000
            let t0 = Bench.nowNs()
            let r = round % 2 == 0 ? try worker.handle(method: "noop") : try worker.handle(method: "putget", body: value)
            let t1 = Bench.nowNs()
            guard r.status == 0 else { throw CLIError("the app failed during the benchmark") }
            if !warm { (round % 2 == 0 ? { noop.append(Double(t1 - t0) / 1000) } : { putget.append(Double(t1 - t0) / 1000) })() }
        }

        // Throughput: 10,000 puts in 100 requests, vs 10,000 direct writes in 100 transactions.
        let t0 = Bench.nowNs()
        for request in 0..<100 {
            let r = try worker.handle(method: "putn", body: Array("\(request * 100):100".utf8))
            guard r.body == Array("ok".utf8) else { throw CLIError("putn failed: \(String(decoding: r.body, as: UTF8.self))") }
        }
        let appNs = Bench.nowNs() - t0
        let directNs = try Self.direct(path: data + "/direct")
        let noopP50 = Stats.quantile(noop, 0.5), putgetP50 = Stats.quantile(putget, 0.5)
        print(JSONText.object([
            ("noop_call_us_p50", JSONText.number(noopP50)),
            ("put_get_call_us_p50", JSONText.number(putgetP50)),
            ("put_get_ratio_p50", JSONText.number(putgetP50 / noopP50, places: 3)),
            ("kv_puts_per_s", JSONText.number(10_000 / (Double(appNs) / 1e9), places: 0)),
            ("direct_sqlite_puts_per_s", JSONText.number(10_000 / (Double(directNs) / 1e9), places: 0)),
            ("kv_vs_direct_rate", JSONText.number(Double(directNs) / Double(appNs), places: 3)),
        ]))
    }

    /// The same writes made directly: the broker's own storage code in this process, 100 transactions.
    static func direct(path: String) throws -> UInt64 {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        do { return try StorageBaseline.directPuts(directory: path, requests: 100, putsPerRequest: 100) } catch {
            throw CLIError("baseline failed: \(error.message)")
        }
    }
}
