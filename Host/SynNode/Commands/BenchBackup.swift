import ArgumentParser
import Foundation
import SynAppStore
import SynBackup
import SynRuntime
import SynSandbox
import SynSQLite
import SynSystem
import Synchronization

/// Online backups against baselines measured in the same run:
/// - a write-heavy client's throughput while backups run back to back, against its throughput without them
///   (target: at least 0.7×);
/// - an encrypted backup of `--size-mb` of app data through the running node, against `sqlite3 .backup` of the
///   same database (target: at most 2×).
struct BenchBackup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "backup", abstract: "Online encrypted backups vs no backup and vs sqlite3 .backup.")
    @Option(help: "App data for the timed backup, MB.") var sizeMB: Int = 1024
    @Option(help: "App data while the writer runs, MB.") var liveMB: Int = 64
    @Option(help: "Alternating rounds of the throughput comparison.") var rounds: Int = 5
    @Option(help: "Seconds per throughput window.") var window: Double = 2
    @Option(help: "Concurrent calls of the write-heavy client.") var clients: Int = 4
    @Option(help: "Directory of the benchmark apps' manifests.") var manifests: String = "Benchmarks"
    @Option(help: "Directory of sandbox profiles.") var profiles: String = "sandbox-profiles"

    func run() async throws {
        let key = NSTemporaryDirectory() + "syneroym-bench-backup-\(getpid()).key"
        defer { unlink(key) }
        try BackupKey.make(path: key)
        let (withBackup, without) = try await throughput(key: key)
        let (ours, baseline, tool) = try await bulk(key: key)
        let ratio = zip(withBackup, without).map { $0 / $1 }
        print(JSONText.object([
            ("bench", JSONText.string("backup")),
            ("writes_per_s_without_backup_p50", JSONText.number(Stats.quantile(without, 0.5), places: 0)),
            ("writes_per_s_during_backup_p50", JSONText.number(Stats.quantile(withBackup, 0.5), places: 0)),
            ("writes_during_backup_ratio_p50", JSONText.number(Stats.quantile(ratio, 0.5), places: 3)),
            ("writes_target_ratio", "0.7"),
            ("backup_mb", String(sizeMB)),
            ("encrypted_backup_s_p50", JSONText.number(Stats.quantile(ours, 0.5), places: 3)),
            ("baseline_s_p50", JSONText.number(Stats.quantile(baseline, 0.5), places: 3)),
            ("baseline", JSONText.string(tool)),
            ("backup_vs_baseline_ratio", JSONText.number(Stats.quantile(ours, 0.5) / Stats.quantile(baseline, 0.5), places: 3)),
            ("backup_target_ratio", "2"),
        ]))
    }

    /// Fills `data`'s `apps/store/app.db` with `mb` MB of 64 KiB values, as the node's own trusted SQL.
    static func fill(_ data: String, mb: Int) throws {
        let directory = data + "/apps/store"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try AppStoreFiles.prepare(directory: directory)
        let db = try Database(path: directory + "/app.db")
        defer { db.close() }
        let rows = mb * 16
        var i = 0
        while i < rows {
            try db.transaction { () throws(SQLiteError) in
                for _ in 0..<min(256, rows - i) {
                    try db.execute("INSERT INTO syn_kv(key, value, version) VALUES (?, randomblob(65536), 1)", [.blob(Array("fill\(i)".utf8))])
                    i += 1
                }
            }
        }
        try db.checkpoint()
    }

    /// Writes per second by `clients` concurrent calls for `window` seconds.
    func writes(_ runtime: NodeRuntime, round: Int) async -> Double {
        let seconds = window
        let deadline = MonotonicClock.nowNs() + Int64(seconds * 1e9)
        let count = Counter()
        await withTaskGroup(of: Void.self) { group in
            for c in 0..<clients {
                group.addTask {
                    var n = 0
                    while MonotonicClock.nowNs() < deadline {
                        let body = Array("w\(round)-\(c)-\(n)=\(String(repeating: "x", count: 100))".utf8)
                        if let r = try? await runtime.call(app: "store", method: "put", caller: Self.caller, body: body, tag: ""), r.status == 0 {
                            count.value.add(1, ordering: .relaxed)
                        }
                        n += 1
                    }
                }
            }
        }
        return Double(count.value.load(ordering: .relaxed)) / seconds
    }

    /// A signed caller as the gateway would pass it (the store's methods are not public).
    static let caller = [UInt8](repeating: 7, count: 32)

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// Alternating windows without and with backups running back to back.
    func throughput(key: String) async throws -> (with: [Double], without: [Double]) {
        let node = try await BenchNode(label: "backup-live", apps: ["store"], manifests: manifests, profiles: profiles, edit: {
            $0.replacingOccurrences(of: "storage_quota_mb = 64", with: "storage_quota_mb = \(liveMB * 2 + 64)")
                + "\n[backup]\nkey_file = \"\(key)\"\nkeep = 1\n"
        }, prepare: { try Self.fill($0, mb: liveMB) })
        let runtime = node.runtime
        let archives = node.root + "/archives"
        var with: [Double] = [], without: [Double] = []
        let failed = Counter()
        for round in 0..<rounds {
            without.append(await writes(runtime, round: round * 2))
            let stop = Counter()
            let backups = Thread {
                while stop.value.load(ordering: .relaxed) == 0 {
                    if let done = try? runtime.backup(to: archives, actor: "bench"), !done.skipped.isEmpty { failed.value.add(1, ordering: .relaxed) }
                }
            }
            backups.start()
            with.append(await writes(runtime, round: round * 2 + 1))
            stop.value.store(1, ordering: .relaxed)
            while backups.isExecuting { try await Task.sleep(for: .milliseconds(10)) }
        }
        await node.stop()
        guard failed.value.load(ordering: .relaxed) == 0 else { throw CLIError("backups during the writes left the app's database out") }
        return (with, without)
    }

    /// `sizeMB` of app data: `sqlite3 .backup` of the database before the node opens it, then the node's encrypted
    /// online backup of the same data, three times each.
    func bulk(key: String) async throws -> (ours: [Double], baseline: [Double], tool: String) {
        var baseline: [Double] = []
        var tool = "sqlite3 .backup"
        let node = try await BenchNode(label: "backup-bulk", apps: ["store"], manifests: manifests, profiles: profiles, edit: {
            $0.replacingOccurrences(of: "storage_quota_mb = 64", with: "storage_quota_mb = \(sizeMB * 2 + 64)")
                + "\n[backup]\nkey_file = \"\(key)\"\nkeep = 1\n"
        }, prepare: { data in
            try Self.fill(data, mb: sizeMB)
            let db = data + "/apps/store/app.db"
            for _ in 0..<3 {
                let out = data + "/../baseline.db"
                unlink(out)
                let t0 = MonotonicClock.nowNs()
                if FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3") {
                    let p = Process()
                    p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
                    p.arguments = [db, ".backup '\(out)'"]
                    try p.run()
                    p.waitUntilExit()
                    guard p.terminationStatus == 0 else { throw CLIError("sqlite3 .backup failed") }
                } else {
                    // The same API the shell's .backup uses, 100 pages a step, when the sqlite3 shell is missing.
                    tool = "sqlite3_backup_step(100) in process (no sqlite3 shell)"
                    let source = try Database(path: db, options: { var o = Database.Options(); o.create = false; return o }())
                    let destination = try Database(path: out, options: { var o = Database.Options(); o.noJournal = true; return o }())
                    let backup = try DatabaseBackup(from: source, to: destination)
                    while try !backup.step(pages: 100) {}
                    try backup.finish()
                    destination.close(); source.close()
                }
                baseline.append(Double(MonotonicClock.nowNs() - t0) / 1e9)
                // The output is written through the page cache as the node's archive is: both are synced.
                let fd = open(out, O_RDONLY)
                if fd >= 0 { fsync(fd); close(fd) }
                baseline[baseline.count - 1] = Double(MonotonicClock.nowNs() - t0) / 1e9
                unlink(out)
            }
        })
        // On a thread of its own, as the node runs backups (they lower their thread's priority).
        let runtime = node.runtime, archives = node.root + "/archives"
        let times = Mutex<[Double]>([])
        let done = DispatchSemaphore(value: 0)
        Thread {
            // A backup that left the app's database out did not do the work: it does not count.
            for _ in 0..<3 {
                if let d = try? runtime.backup(to: archives, actor: "bench"), d.skipped.isEmpty { times.withLock { $0.append(d.seconds) } }
            }
            done.signal()
        }.start()
        while done.wait(timeout: .now()) == .timedOut { try await Task.sleep(for: .milliseconds(50)) }
        let ours = times.withLock { $0 }
        guard ours.count == 3 else { throw CLIError("a backup failed during the benchmark") }
        await node.stop()
        return (ours, baseline, tool)
    }
}
