import CSynSys
import Foundation
import Logging
import SynAppStore
public import SynBackup
import SynBroker
import SynConfig
import SynSandbox
import SynSodium
import SynSQLite
import SynSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `syneroym backup`: an encrypted archive of the node made while it serves. Each running app's database is copied
/// by SQLite's online backup inside its own worker, in steps between its calls; `node.db` by the online backup on a
/// connection of the node's; the keys, node.toml, the audit head and installed packages as files.
extension NodeRuntime {
    /// The CPU priority backups run at (the calls they share the machine with run at 0).
    static let backupNice: Int32 = 10

    /// What a backup made.
    public struct BackupDone: Sendable {
        public let path: String
        public let bytes: Int64
        public let files: Int
        /// When the backup began: every write acknowledged before it is in the archive.
        public let snapshot: String
        public let seconds: Double
        /// Apps whose databases are not in the archive, and why (one app's failure does not fail the backup).
        public let skipped: [String]
    }

    /// A backup's progress: what it is doing, and how far along (bytes or pages).
    public struct BackupProgress: Sendable {
        public let phase: String
        public let done: Int64
        public let total: Int64
    }

    /// Writes an archive of the whole node to `directory` (else `[backup] directory`, else `<data>/backups`) under
    /// `key` (else `[backup] key_file`), keeps the newest `[backup] keep`, and audits it (`backup`). Calls go on
    /// being served meanwhile. One backup, install or rollback at a time.
    public func backup(to directory: String? = nil, key: BackupKey? = nil, actor: String, tag: String = "",
                       progress: @escaping @Sendable (BackupProgress) -> Void = { _ in }) throws(NodeError) -> BackupDone {
        // [backup] is read again at each backup, so a key or directory set in node.toml applies without a restart.
        let settings = backupSettings
        let resolved: BackupKey
        do { resolved = try backupKey(key, settings: settings) } catch {
            recordBackup(ok: nil, error: settings.keyFile == nil ? "no [backup] key_file" : error.message)
            if settings.keyFile != nil {
                broker.audit.append(actor: actor, app: "", action: "backup", decision: "failed", cause: error.message + AuditLog.requestSuffix(tag))
            }
            throw error
        }
        let target = directory ?? settings.directory ?? layout.data + "/backups"
        let started = MonotonicClock.nowNs()
        // Calls come first: this thread, and the reader it starts, give way to them (nice 10).
        _ = csyn_nice_thread(Self.backupNice)
        do throws(NodeError) {
            let done = try exclusively { () throws(NodeError) -> BackupDone in
                try makeBackup(into: target, key: resolved, progress: progress, started: started)
            }
            pruneBackups(in: target, keep: settings.keep)
            recordBackup(ok: done.path, error: nil)
            broker.audit.append(actor: actor, app: "", action: "backup", decision: done.skipped.isEmpty ? "ok" : "partial",
                                cause: "\(done.path): \(done.files) files, \(done.bytes) bytes, snapshot at \(done.snapshot)"
                                    + (done.skipped.isEmpty ? "" : "; without the databases of \(done.skipped.joined(separator: "; "))") + AuditLog.requestSuffix(tag))
            return done
        } catch {
            recordBackup(ok: nil, error: error.message)
            broker.audit.append(actor: actor, app: "", action: "backup", decision: "failed", cause: error.message + AuditLog.requestSuffix(tag))
            throw error
        }
    }

    private func makeBackup(into directory: String, key: BackupKey, progress: @escaping @Sendable (BackupProgress) -> Void,
                            started: Int64) throws(NodeError) -> BackupDone {
        let snapshot = Self.timestamp()
        let staging = layout.data + "/tmp/backup-\(getpid())-\(Self.compactTimestamp())"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw NodeError(.io, "cannot create \(directory) or \(staging): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let path = directory + "/" + BackupArchive.fileName(stamp: Self.compactTimestamp())
        let info = ArchiveInfo(node: Base64URL.encode(broker.nodePublicKey), snapshot: snapshot, writer: "syneroym")
        let writer: ArchiveWriter
        do { writer = try ArchiveWriter(path: path, key: key, info: info) } catch {
            throw NodeError(.io, "cannot write the archive \(path): \(error.message)")
        }
        var count = 0
        /// Streams `source` into the archive as `name`, with progress.
        func add(_ source: String, as name: String) throws(NodeError) {
            var st = stat()
            let size = stat(source, &st) == 0 ? Int64(st.st_size) : 0
            do { try writer.add(source, as: name) { read in progress(BackupProgress(phase: "write", done: read, total: size)) } } catch {
                throw NodeError(.io, "cannot write the archive \(path): \(error.message)")
            }
            count += 1
        }
        // 1. The apps' databases, each consistent, while they serve: a running app's is copied by its worker between
        // its calls and streamed into the archive from there; a stopped app's files are still, and copied as they are.
        var skipped: [String] = []
        for id in state.withLock({ $0.order }) {
            do throws(NodeError) {
                try archiveDatabase(of: id, into: writer, under: "apps/\(id)/", progress: progress) { (source, name) throws(NodeError) in
                    try add(source, as: "apps/\(id)/" + name)
                }
            } catch {
                // One app cannot fail everyone's backup: its database is left out, and said to be. But an archive
                // that could not be written is no archive: the backup fails.
                if state.withLock({ $0.stopped }) || writer.broken != nil { throw error }
                skipped.append("\(id) (\(error.message.prefix(300)))")
                logger.error("an app's database is left out of the backup", metadata: ["app": "\(id)", "error": "\(error.message)"])
            }
        }
        // 2. node.db, by the online backup on a connection of its own (WAL: writers go on). The audit log's signed
        // head is copied first, so the head restored never covers an entry the log restored lacks.
        if FileManager.default.fileExists(atPath: layout.data + "/audit.head") {
            try AppSnapshot.copy(layout.data + "/audit.head", to: staging + "/audit.head")
        }
        progress(BackupProgress(phase: "node.db", done: 0, total: 1))
        do throws(SQLiteError) {
            var sourceOptions = Database.Options()
            sourceOptions.create = false
            let source = try Database(path: layout.data + "/node.db", options: sourceOptions)
            var options = Database.Options()
            options.noJournal = true
            let destination = try Database(path: staging + "/node.db", options: options)
            let backup = try DatabaseBackup(from: source, to: destination)
            var tries = 0
            while try !backup.step(pages: -1) {
                tries += 1
                guard tries < 1000 else { throw SQLiteError(extendedCode: 5, message: "node.db stayed locked for 10 s") }
                usleep(10_000)
            }
            try backup.finish()
            destination.close()
            source.close()
        } catch {
            throw NodeError(.storage, "cannot back up node.db: \(error.message)")
        }
        try add(staging + "/node.db", as: "node.db")
        if FileManager.default.fileExists(atPath: staging + "/audit.head") { try add(staging + "/audit.head", as: "audit.head") }
        // 3. The small files: keys, configuration, installed packages.
        for name in ["node.toml", "node.key"] where FileManager.default.fileExists(atPath: layout.data + "/" + name) {
            try add(layout.data + "/" + name, as: name)
        }
        let appDirectories = ((try? FileManager.default.contentsOfDirectory(atPath: layout.data + "/apps")) ?? []).sorted()
        for id in appDirectories {
            let base = "apps/\(id)"
            for name in ["app.key", "installed.json"] where FileManager.default.fileExists(atPath: layout.data + "/\(base)/\(name)") {
                try add(layout.data + "/\(base)/\(name)", as: "\(base)/\(name)")
            }
            for package in ((try? FileManager.default.contentsOfDirectory(atPath: layout.data + "/\(base)/packages")) ?? []).sorted()
            where package.hasSuffix(".synapp") {
                try add(layout.data + "/\(base)/packages/\(package)", as: "\(base)/packages/\(package)")
            }
        }
        do { _ = try writer.finish() } catch { throw NodeError(.io, "cannot write the archive \(path): \(error.message)") }
        var st = stat()
        let size = stat(path, &st) == 0 ? Int64(st.st_size) : writer.written
        return BackupDone(path: path, bytes: size, files: count, snapshot: snapshot,
                          seconds: Double(MonotonicClock.nowNs() - started) / 1e9, skipped: skipped)
    }

    /// Archives `id`'s database into `writer`, under `prefix`: a running app's copy as its worker makes it now,
    /// between its calls (a records entry, `app.db`: the worker streams the copy to this node, which checks it and
    /// archives it as it comes), or a still app's files as they are, through `add` (`app.db` and `app.db-wal`; a
    /// worker without storage never opens them). Nothing when the app has no database. Backups and exports both
    /// archive an app's database this way.
    func archiveDatabase(of id: String, into writer: ArchiveWriter, under prefix: String,
                         progress: @escaping @Sendable (BackupProgress) -> Void,
                         add: (_ source: String, _ name: String) throws(NodeError) -> Void) throws(NodeError) {
        let directory = InstalledApp.directory(data: layout.data, app: id)
        guard FileManager.default.fileExists(atPath: directory + "/app.db") else { return }
        let supervisor = state.withLock { $0.entries[id]?.supervisor }
        guard let supervisor, supervisor.state == .running, let storage = broker.storage(for: id) else {
            for name in AppStoreFiles.names.prefix(2) where FileManager.default.fileExists(atPath: directory + "/" + name) {
                try add(directory + "/" + name, name)
            }
            return
        }
        let failed = { (error: BackupError) -> NodeError in NodeError(.io, "cannot write the archive \(writer.path): \(error.message)") }
        guard let channel = storage.backupChannel else {
            // Without its channel (the system gave no socket pair), the worker writes the copy's file itself.
            let copy = directory + "/app.db" + AppStore.backupSuffix
            defer { truncate(copy, 0) }
            truncate(copy, 0)
            try snapshotOnline(id, supervisor: supervisor, stream: nil, progress: progress)
            try add(copy, "app.db")
            return
        }
        // The copy's records go into the entry as they arrive, on the copy's own thread; none reaches past the app's
        // quota and a margin.
        let limit = storage.quotaBytes + (16 << 20)
        let entry: ArchiveWriter.RecordsEntry
        do { entry = try writer.beginRecords(as: prefix + "app.db", limit: limit) } catch { throw failed(error) }
        CopyStream.drain(channel.hostEnd)
        let copy = CopyStream(source: channel.hostEnd, limit: limit, channel: channel) { bytes in
            do throws(BackupError) { try entry.append(bytes) } catch { return error.message }
            return nil
        }
        guard copy.start() else {
            try? entry.close(ok: false)
            throw NodeError(.io, "the system gave no thread to take the copy of '\(id)' (RLIMIT_NPROC or memory)")
        }
        do throws(NodeError) {
            try snapshotOnline(id, supervisor: supervisor, stream: copy, progress: progress)
        } catch {
            copy.finish()
            // The entry ends as dropped: its reader discards what it holds.
            try? entry.close(ok: false)
            throw error
        }
        copy.finish()
        do { try entry.close(ok: true) } catch { throw failed(error) }
    }

    /// One running app's database, copied by its worker in steps between its calls, paced while the app is busy:
    /// into `stream` (`CopyStream`), or without one into the copy's file. An app whose instances share its database
    /// is copied in one step (the worker that starts a backup must finish it), with a longer time limit.
    func snapshotOnline(_ id: String, supervisor: AppSupervisor, stream: CopyStream?,
                        progress: @escaping @Sendable (BackupProgress) -> Void) throws(NodeError) {
        let single = supervisor.policy.instances == 1
        let pages: UInt32 = single ? 1024 : 0
        let timeout: Int? = single ? nil : 600_000
        // However the app answers, its copy ends by this time: a minute, and half a minute more per GiB.
        var st = stat()
        let size = stat(InstalledApp.directory(data: layout.data, app: id) + "/app.db", &st) == 0 ? Int64(st.st_size) : 0
        let deadline = MonotonicClock.nowNs() + (60 + 30 * (size >> 30)) * 1_000_000_000
        var mode: UInt8 = 1
        var busy = 0
        var completed = false
        defer {
            // A backup given up on is ended in the worker too, so it stops copying; the stream is read (and
            // discarded) until then, so a step under way does not block on it.
            if !completed {
                _ = Self.waitForReply(timeoutNs: 10_000_000_000) { done in supervisor.submitBackup(pages: 0, mode: 2, complete: done) }
            }
        }
        while true {
            guard MonotonicClock.nowNs() < deadline else {
                throw NodeError(.storage, "the copy of '\(id)' did not finish in time (a minute, and half a minute more per GiB)")
            }
            guard !state.withLock({ $0.stopped }) else { throw NodeError(.storage, "the node is stopping") }
            let stepStart = MonotonicClock.nowNs()
            let answer = Self.waitForReply { done in supervisor.submitBackup(pages: pages, mode: mode, timeoutMs: timeout, complete: done) }
            switch answer ?? .failure(CallError(.unavailable, "no answer")) {
            case .failure(let error) where error.code == .busy && busy < 100:
                // Its queue is full of calls: they go first.
                busy += 1
                usleep(20_000)
                continue
            case .failure(let error):
                throw NodeError(.storage, "cannot back up '\(id)': \(error)")
            case .success(let r) where r.status != 0:
                throw NodeError(.storage, "cannot back up '\(id)': \(String(decoding: r.body.prefix(300), as: UTF8.self))")
            case .success(let r):
                guard r.body.count == 25 else { throw NodeError(.storage, "cannot back up '\(id)': its worker answered a backup step with \(r.body.count) bytes") }
                // The worker's answer is the app's to forge: read as unsigned, and bounded.
                let done = r.body[0] == 1
                let remaining = r.body[1..<9].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
                let count = r.body[9..<17].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
                guard count <= 1 << 40, remaining <= count else {
                    throw NodeError(.storage, "cannot back up '\(id)': its worker reported \(remaining) of \(count) pages left")
                }
                let streamed = r.body[17..<25].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
                // Everything the step streamed is in the copy before the step counts.
                if let stream, let why = stream.wait(for: Int64(clamping: streamed), exact: done, deadline: deadline) {
                    throw NodeError(.storage, "cannot back up '\(id)': \(why)")
                }
                progress(BackupProgress(phase: id, done: Int64(count - remaining), total: Int64(count)))
                if done {
                    completed = true
                    return
                }
            }
            mode = 0
            // Calls come first: while the app has calls waiting or in hand, each step is followed by a pause twice
            // its length, so its worker spends at most a third of its time copying; an idle app is copied at full speed.
            if supervisor.load > 0 {
                let took = MonotonicClock.nowNs() - stepStart
                usleep(UInt32(clamping: min(took * 2, 200_000_000) / 1000))
            }
        }
    }

    /// Keeps the newest `keep` archives in `directory` (those named as this node names them).
    func pruneBackups(in directory: String, keep: Int) {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let names = all.filter { $0.hasPrefix("syneroym-") && $0.hasSuffix(".synbak") }.sorted()
        for name in names.dropLast(keep) { unlink(directory + "/" + name) }
        // One backup runs at a time, so a `.partial` seen now is what a crashed one left.
        for name in all where name.hasPrefix("syneroym-") && name.hasSuffix(".synbak.partial") { unlink(directory + "/" + name) }
    }
}
