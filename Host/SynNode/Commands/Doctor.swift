import ArgumentParser
import Foundation
import SynBroker
import SynConfig
import SynRuntime
import SynSandbox
import SynSystem
import SynSodium
import SynSQLite
import Synchronization

/// `syneroym doctor`: what the node needs from this machine and its data directory, each with a fix.
struct Doctor: CheckedCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check user namespaces, seccomp, cgroups, key permissions and the data directory; print fixes.",
        discussion: "Exit status: 0 when every check passes, 1 when any fails (each failure is printed with its fix).")
    @OptionGroup var options: DataOption
    @Option(help: "Directory of app manifests to start once in the sandbox (end-to-end check).") var manifests: String = "manifests"
    @Option(help: "Directory of sandbox profiles.") var profiles: String = "sandbox-profiles"

    func execute() throws(CLIError) {
        var report = DoctorReport()
        report.add("user namespaces", SandboxProbe.namespaces())
        report.add("seccomp", SandboxProbe.seccomp())
        report.add("cgroups", SandboxProbe.cgroups())
        report.add("worker uids", SandboxProbe.workerUIDs())
        report.add("worker executable", FileManager.default.isExecutableFile(atPath: NodePaths.worker)
            ? .init(ok: true, detail: NodePaths.worker, fix: "")
            : .init(ok: false, detail: "\(NodePaths.worker) is missing", fix: "make build (or set SYNEROYM_WORKER)"))
        checkData(&report)
        checkApps(&report)
        print(report.text, terminator: "")
        if report.failures > 0 { throw CLIError("\(report.failures) check(s) failed", code: 1) }
    }

    private func checkData(_ report: inout DoctorReport) {
        let data = options.data
        var st = stat()
        guard stat(data, &st) == 0 else {
            report.add("data directory", .init(ok: false, detail: "\(data) does not exist", fix: "syneroym init --data \(data)"))
            return
        }
        let mode = st.st_mode & 0o777
        if st.st_uid != geteuid() {
            report.add("data directory", .init(ok: false, detail: "\(data) is owned by uid \(st.st_uid), not \(geteuid())",
                                                fix: "chown -R \(geteuid()) \(data), or run the node as its owner"))
        } else if mode & 0o077 != 0 {
            report.add("data directory", .init(ok: false, detail: "\(data) has mode \(String(mode, radix: 8)): others can look in",
                                                fix: "chmod 700 \(data)"))
        } else if access(data, W_OK) != 0 {
            report.add("data directory", .init(ok: false, detail: "\(data) is not writable", fix: "chmod u+w \(data)"))
        } else {
            var fs = statvfs()
            let free = statvfs(data, &fs) == 0 ? UInt64(fs.f_bavail) * UInt64(fs.f_frsize) : 0
            let reserveMB = (try? NodeConfig.load(path: data + "/node.toml"))?.reserveMB ?? NodeConfig().reserveMB
            report.add("data directory", free < UInt64(max(reserveMB, 100)) << 20
                ? .init(ok: false, detail: "only \(free >> 20) MB free under \(data), below the node's reserve of \(max(reserveMB, 100)) MB (node.toml node.reserve_mb; doctor asks for at least 100)",
                        fix: "free disk space: below node.reserve_mb the node refuses app calls, and SQLite needs room to commit and checkpoint")
                : .init(ok: true, detail: "\(data): mode \(String(mode, radix: 8)), owned by uid \(st.st_uid), \(free >> 20) MB free", fix: ""))
        }
        let keyPath = data + "/node.key"
        do {
            let key = try KeyFile.load(path: keyPath)
            report.add("node key", .init(ok: true, detail: "\(keyPath): mode 0600, node id \(Base64URL.encode(key.publicKey))", fix: ""))
            checkAudit(&report, publicKey: key.publicKey)
        } catch {
            let fix = FileManager.default.fileExists(atPath: keyPath) ? "chmod 600 \(keyPath) and chown it to the node's user" : "syneroym init --data \(data)"
            report.add("node key", .init(ok: false, detail: error.message, fix: fix))
        }
        do {
            let node = try NodeConfig.load(path: data + "/node.toml")
            report.add("node.toml", .init(ok: true, detail: "\(node.apps.count) app(s), \(node.owners.count) owner(s), gateway on \(node.gateway.listen)", fix: ""))
            report.add("backups", Self.backups(data, node.backup))
        } catch {
            report.add("node.toml", .init(ok: false, detail: "\(error)", fix: "fix the line named, or move it away and run syneroym init"))
        }
        for app in ((try? FileManager.default.contentsOfDirectory(atPath: data + "/apps")) ?? []).sorted() {
            report.add("database \(app)", Self.quickCheck(data + "/apps/\(app)/app.db"))
        }
        report.add("running node", Self.runningNode(data))
    }

    /// Whether scheduled backups are on time (`<data>/backup.json` against `[backup]`).
    static func backups(_ data: String, _ settings: BackupSettings) -> SandboxProbe.Result {
        let record = BackupRecord.load(data: data)
        let last = record.lastOK.map { "the last succeeded \(Date(timeIntervalSince1970: TimeInterval($0))) (\(record.lastFile ?? "?"))" } ?? "none has succeeded yet"
        if let late = record.overdue(everyHours: settings.everyHours, alertHours: settings.alertHours, now: Int64(Date().timeIntervalSince1970)) {
            return .init(ok: false, detail: late, fix: "check [backup] key_file and directory in node.toml, then run syneroym backup to see it work")
        }
        guard settings.everyHours > 0 else {
            return .init(ok: true, detail: "not scheduled (node.toml [backup] every_hours = 0); \(last)", fix: "")
        }
        return .init(ok: true, detail: "every \(settings.everyHours) h; \(last)", fix: "")
    }

    /// Whether a node holds the directory, and if so what its `/v1/health` says (a failing audit log shows here).
    static func runningNode(_ data: String) -> SandboxProbe.Result {
        guard let holder = DataDirectoryLock.holder(directory: data) else {
            return .init(ok: true, detail: "none holds \(data)", fix: "")
        }
        let who = holder.pid.map { "PID \($0)" } ?? "a process"
        guard let address = holder.address else {
            return .init(ok: true, detail: "\(who) holds \(data) (its gateway is not listening yet)", fix: "")
        }
        let reply = Self.blocking { () async throws(CLIError) -> HTTPClient.Reply in
            try await HTTPClient.send("GET", "http://" + ClientOptions.reachable(address) + "/v1/health", timeoutSeconds: 10)
        }
        switch reply {
        case .success(let r) where r.status == 200:
            return .init(ok: true, detail: "\(who) serves on \(address) and is healthy", fix: "")
        case .success(let r):
            let body = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any]
            let why = (body?["audit"] as? String) ?? (body?["disk"] as? String) ?? String(decoding: r.body.prefix(500), as: UTF8.self)
            return .init(ok: false, detail: "\(who) on \(address) is failing (HTTP \(r.status)): \(why)",
                         fix: "free space on the file system of \(data); the node retries its audit log every second")
        case .failure(let error):
            return .init(ok: false, detail: "\(who) holds \(data) but its gateway on \(address) does not answer: \(error.message)",
                         fix: "read the node's log (journalctl -u syneroym), or stop it and start it again")
        }
    }

    /// Runs `body` to completion from this synchronous command.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws(CLIError) -> T) -> Result<T, CLIError> {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            do throws(CLIError) { box.set(.success(try await body())) } catch { box.set(.failure(error)) }
            done.signal()
        }
        done.wait()
        return box.get() ?? .failure(CLIError("no answer"))
    }

    private func checkAudit(_ report: inout DoctorReport, publicKey: [UInt8]) {
        let path = options.data + "/node.db"
        guard FileManager.default.fileExists(atPath: path) else { return }
        do {
            let r = try AuditVerifier.verify(path: path, nodePublicKey: publicKey, headPath: options.data + "/audit.head")
            if let broken = r.firstBroken {
                report.add("audit log", .init(ok: false, detail: "broken at entry \(broken.seq): \(broken.reason)",
                                              fix: "keep a copy of \(path) as evidence; restore node.db from a backup"))
            } else {
                report.add("audit log", .init(ok: true, detail: "\(r.entries) entries, \(r.checkpoints) signed checkpoints and \(r.head.map { "the signed head at entry \($0.seq)" } ?? "no signed head yet") verify", fix: ""))
            }
        } catch {
            report.add("audit log", .init(ok: false, detail: error.message, fix: "restore node.db from a backup"))
        }
    }

    /// How long `quickCheck` allows itself (its heap is `UntrustedDatabase.heapLimitBytes`).
    static let checkLimitMs = 10_000

    /// `PRAGMA quick_check` of an app database's main file. The app wrote the file, so it is opened as SQLite advises
    /// for untrusted files (`UntrustedDatabase`), immutable (the WAL and its shared index, which a running
    /// worker may be writing, are not read), with SQLite's heap in this process capped and the check stopped after
    /// `checkLimitMs`. Writes still in the WAL are not checked.
    static func quickCheck(_ path: String) -> SandboxProbe.Result {
        guard FileManager.default.fileExists(atPath: path) else { return .init(ok: true, detail: "no database yet", fix: "") }
        do {
            if let problem = try UntrustedDatabase.check(path, "quick_check", limitMs: Self.checkLimitMs) {
                return .init(ok: false, detail: problem, fix: "stop the node and restore \(path) from a backup")
            }
            return .init(ok: true, detail: "\(path): quick_check ok", fix: "")
        } catch where error.code == SQLiteError.busy {
            return .init(ok: true, detail: "\(path): busy (not checked)", fix: "")
        } catch where error.code == SQLiteError.interrupt {
            return .init(ok: false, detail: "\(path): quick_check ran past \(Self.checkLimitMs / 1000) s and was stopped", fix: "stop the node and restore \(path) from a backup")
        } catch {
            return .init(ok: false, detail: "\(path): \(error.message)", fix: "stop the node and restore \(path) from a backup")
        }
    }

    /// Starts each app once in a real sandbox, with a throwaway data directory that grants what its manifest asks
    /// (so an app whose init migrates its database can start), and reads its init reply.
    private func checkApps(_ report: inout DoctorReport) {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: manifests)) ?? []).filter { $0.hasSuffix(".toml") }.sorted()
        let scratch = NSTemporaryDirectory() + "syneroym-doctor-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for file in files {
            let path = (manifests as NSString).appendingPathComponent(file)
            do {
                let (manifest, profile, spec) = try AppLoader.spec(manifestPath: path, profilePath: nil, profileDirectory: profiles)
                let data = scratch + "/" + manifest.id
                let node = try NodeSetup.nodeConfig(data: data, manifests: [manifest], announce: false)
                let broker = try NodeSetup.broker(data: data, node: node, manifests: [manifest])
                defer { broker.close() }
                let t0 = MonotonicClock.nowNs()
                do {
                    let worker = try WorkerProcess.start(spec, hostCalls: broker)
                    let ms = Double(MonotonicClock.nowNs() - t0) / 1e6
                    worker.shutdown()
                    report.add("sandbox \(manifest.id)", .init(ok: true, detail: String(format: "started under profile %@ in %.1f ms", profile.name, ms), fix: ""))
                } catch {
                    report.add("sandbox \(manifest.id)", .init(ok: false, detail: "\(error)", fix: "see the checks above; try the app under the debug profile"))
                }
            } catch {
                report.add("sandbox \(file)", .init(ok: false, detail: error.message, fix: "make build, or fix the manifest"))
            }
        }
    }
}

/// One result handed from a task to the thread waiting for it.
final class ResultBox<T: Sendable>: Sendable {
    private let value = Mutex<Result<T, CLIError>?>(nil)
    func set(_ result: Result<T, CLIError>) { value.withLock { $0 = result } }
    func get() -> Result<T, CLIError>? { value.withLock { $0 } }
}
