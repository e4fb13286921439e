import Foundation
public import SynBackup
import SynAppStore
import SynBroker
import SynConfig
import SynPackage
import SynSandbox
import SynSodium
import SynSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `apps export` and `apps import`: an app moved to another node with its package, its database and its identity
/// (`app.key`, so what it signed keeps verifying), in one archive encrypted like a backup and signed by the node
/// that exported it.
extension NodeRuntime {
    /// What an export wrote.
    public struct Exported: Sendable {
        public let path: String
        public let app: String
        public let version: String
        public let bytes: Int64
        /// The exporting node's id: what the importing owner checks.
        public let node: String
    }

    /// The bytes the exporting node signs: every file of the bundle (before the signature) by path, size and hash.
    static func exportStatement(_ files: [ArchivedFile]) -> [UInt8] {
        let lines = files.map { (file: ArchivedFile) -> String in
            var line = "\(file.path) \(file.size) \(file.blake2b)"
            // A records entry's kind and limit are signed too (a plain file's line is as version 1 had it).
            if let kind = file.kind { line += " " + kind.rawValue }
            if let limit = file.limit { line += " \(limit)" }
            return line + "\n"
        }
        return Array(("syneroym-export-v1\n" + lines.joined()).utf8)
    }

    /// Writes `app`'s bundle to `path`: `export.json`, its current package, `app.key`, its database (copied by its
    /// worker while it serves, as a backup does) and `export.sig`, the node's signature over all of them. Encrypted
    /// under `key` (else `[backup] key_file`). Only an app installed from a package can be exported. Audited.
    public func exportApp(_ id: String, to path: String, key: BackupKey? = nil, actor: String, tag: String = "") throws(NodeError) -> Exported {
        let key = try backupKey(key)
        do throws(NodeError) {
            let done = try exclusively { () throws(NodeError) -> Exported in try writeExport(id, to: path, key: key) }
            broker.audit.append(actor: actor, app: id, action: "app.export", decision: "ok",
                                cause: "\(done.version) to \(done.path) (\(done.bytes) bytes)" + AuditLog.requestSuffix(tag))
            return done
        } catch {
            broker.audit.append(actor: actor, app: id, action: "app.export", decision: "failed", cause: error.message + AuditLog.requestSuffix(tag))
            throw error
        }
    }

    private func writeExport(_ id: String, to path: String, key: BackupKey) throws(NodeError) -> Exported {
        guard state.withLock({ $0.entries[id] != nil }) else { throw NodeError(.unknownApp, "no app '\(id)' on this node") }
        guard let record = try InstalledApp.load(data: layout.data, app: id), let current = record.current else {
            throw NodeError(.config, "'\(id)' was not installed from a package, so it cannot be exported; pack it (syneroym pack) and install it with `syneroym apps install --new-developer` first")
        }
        let directory = InstalledApp.directory(data: layout.data, app: id)
        let staging = layout.data + "/tmp/export-\(getpid())-\(Self.compactTimestamp())"
        guard mkdir(layout.data + "/tmp", 0o700) == 0 || errno == EEXIST, mkdir(staging, 0o700) == 0 else {
            throw NodeError(.io, "cannot create \(staging): errno \(errno)")
        }
        defer { try? FileManager.default.removeItem(atPath: staging) }
        let node = Base64URL.encode(broker.nodePublicKey)
        let fail = { (error: BackupError) -> NodeError in NodeError(.io, "cannot write \(path): \(error.message)") }
        let writer: ArchiveWriter
        do { writer = try ArchiveWriter(path: path, key: key, info: ArchiveInfo(node: node, snapshot: Self.timestamp(), writer: "syneroym export")) } catch {
            throw fail(error)
        }
        let description: [String: Any] = ["format": 1, "app": id, "version": current.version, "developer": record.developer, "from": node,
                                          "exported": Self.timestamp()]
        do {
            try JSONSerialization.data(withJSONObject: description, options: [.sortedKeys]).write(to: URL(fileURLWithPath: staging + "/export.json"))
        } catch { throw NodeError(.io, "cannot write \(staging)/export.json: \(error.localizedDescription)") }
        do throws(BackupError) {
            try writer.add(staging + "/export.json", as: "export.json")
            try writer.add(directory + "/packages/" + current.package, as: "package.synapp")
            try writer.add(directory + "/app.key", as: "app.key")
        } catch { throw fail(error) }
        try archiveDatabase(of: id, into: writer, under: "", progress: { _ in }) { (source, name) throws(NodeError) in
            do throws(BackupError) { try writer.add(source, as: name) } catch { throw fail(error) }
        }
        // What node.db holds for the app: its outbox cursor and timers.
        let rows: EventStore.AppRows
        do { rows = try broker.events.rows(of: id) } catch { throw NodeError(.storage, "cannot read '\(id)''s rows in node.db: \(error.message)") }
        guard FileManager.default.createFile(atPath: staging + "/" + AppRowsFile.name, contents: AppRowsFile.encode(rows)) else {
            throw NodeError(.io, "cannot write \(staging)/\(AppRowsFile.name)")
        }
        do throws(BackupError) { try writer.add(staging + "/" + AppRowsFile.name, as: AppRowsFile.name) } catch { throw fail(error) }
        let signature = broker.nodeKey.sign(domain: .node, Self.exportStatement(writer.archived))
        guard FileManager.default.createFile(atPath: staging + "/export.sig", contents: Data(signature)) else {
            throw NodeError(.io, "cannot write \(staging)/export.sig")
        }
        do throws(BackupError) {
            try writer.add(staging + "/export.sig", as: "export.sig")
            _ = try writer.finish()
        } catch { throw fail(error) }
        var st = stat()
        return Exported(path: path, app: id, version: current.version, bytes: stat(path, &st) == 0 ? Int64(st.st_size) : writer.written, node: node)
    }

    /// What an import did: the app installed, and the node it came from.
    public struct Imported: Sendable {
        public let installed: Installed
        public let from: String
    }

    /// Installs the app in the bundle at `path` with its database and identity, after checking all of it: the
    /// archive (key, records, hashes), the exporting node's signature over every file (`from`, when given, must be
    /// that node), and the package as `apps install` checks one (signature, hashes, ABI, the sandboxed probe). The
    /// node must not have the app already, unless the app moved away from it and comes back (`setAsideReturning`).
    /// Its node.toml section grants what `options` says. Audited as `app.import`.
    public func importApp(from path: String, key: BackupKey? = nil, expectedNode: String? = nil, expectedApp: String? = nil,
                          options: InstallOptions = InstallOptions(), actor: String, tag: String = "") throws(NodeError) -> Imported {
        let key = try backupKey(key)
        return try exclusively { () throws(NodeError) -> Imported in
            let staging = layout.data + "/tmp/import-\(getpid())-\(Self.compactTimestamp())"
            guard mkdir(layout.data + "/tmp", 0o700) == 0 || errno == EEXIST else { throw NodeError(.io, "cannot create \(layout.data)/tmp: errno \(errno)") }
            defer { try? FileManager.default.removeItem(atPath: staging) }
            let contents: ArchiveReader.Contents
            do throws(BackupError) { contents = try ArchiveReader.read(path: path, key: key, into: staging) } catch {
                throw NodeError(.package, error.message)
            }
            let names = Set(contents.files.map(\.path))
            guard names.isSubset(of: ["export.json", "package.synapp", "app.key", "app.db", "app.db-wal", AppRowsFile.name, "export.sig"]),
                  names.isSuperset(of: ["export.json", "package.synapp", "app.key", "export.sig"]), contents.files.last?.path == "export.sig" else {
                throw NodeError(.package, "\(path) is not an app's export (it holds \(names.sorted().joined(separator: ", ")))")
            }
            // The exporting node signed every file before its signature.
            guard let from = Base64URL.decode(contents.info.node), from.count == Ed25519.publicKeyLength,
                  let signature = FileManager.default.contents(atPath: staging + "/export.sig"),
                  Ed25519.verify(publicKey: from, domain: .node, message: Self.exportStatement(Array(contents.files.dropLast())), signature: Array(signature)) else {
                throw NodeError(.package, "\(path) is not signed by the node it names (\(contents.info.node.prefix(64))); it was altered")
            }
            if let expectedNode, expectedNode != contents.info.node {
                throw NodeError(.package, "\(path) was exported by node \(contents.info.node), not \(expectedNode)")
            }
            guard let description = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: staging + "/export.json")))) as? [String: Any],
                  let id = description["app"] as? String, NameRules.isAppID(id) else {
                throw NodeError(.package, "\(path): export.json does not name an app")
            }
            if let expectedApp, expectedApp != id { throw NodeError(.package, "\(path) holds app '\(id)', not '\(expectedApp)'") }
            let directory = InstalledApp.directory(data: layout.data, app: id)
            // An app that moved away from here may come back: what it left is stale, and set aside (below).
            let returning = state.withLock { $0.moved[id] != nil }
            let taken = state.withLock { $0.entries[id] != nil } || FileManager.default.fileExists(atPath: directory + "/app.key")
            guard !taken || returning else {
                throw NodeError(.version, "this node has an app '\(id)' already (or its data in \(directory)); an import never replaces one")
            }
            var rows = EventStore.AppRows()
            if names.contains(AppRowsFile.name) {
                var st = stat()
                guard stat(staging + "/" + AppRowsFile.name, &st) == 0, st.st_size <= AppRowsFile.maxBytes,
                      let data = FileManager.default.contents(atPath: staging + "/" + AppRowsFile.name) else {
                    throw NodeError(.package, "\(path): \(AppRowsFile.name) is missing or over \(AppRowsFile.maxBytes >> 20) MiB")
                }
                rows = try AppRowsFile.decode(data)
            }
            let staged = try stage(staging + "/package.synapp")
            defer { unlink(staged.packageFile); unlink(staged.libraryFile) }
            guard staged.package.manifest.id == id else {
                throw NodeError(.package, "\(path): the package inside is '\(staged.package.manifest.id)', not '\(id)'")
            }
            try probe(staged.package, library: staged.libraryFile)
            let left = try setAsideReturning(id, developer: staged.package.developer, newDeveloper: options.newDeveloper)
            /// Removes what this import placed; a returning app's old directory comes back.
            func undo() {
                if let left { undoReturn(left) } else { try? FileManager.default.removeItem(atPath: directory) }
            }
            let version: InstalledApp.Version
            do throws(NodeError) {
                version = try place(staged, actor: actor)
                // The identity and the data are in place before the node first sees the app.
                try AppSnapshot.copy(staging + "/app.key", to: directory + "/app.key")
                for name in ["app.db", "app.db-wal"] where names.contains(name) {
                    try AppSnapshot.copy(staging + "/" + name, to: directory + "/" + name)
                }
            } catch {
                undo()
                throw error
            }
            // Where it came from, for a migration that asks again after a restart.
            _ = FileManager.default.createFile(atPath: directory + "/origin.json", contents: Data("{\"from\":\"\(contents.info.node)\"}".utf8))
            do throws(SodiumError) { _ = try KeyFile.load(path: directory + "/app.key") } catch {
                undo()
                throw NodeError(.package, "\(path): its app.key is not a key: \(error.message)")
            }
            // Its outbox cursor, and its timers when node.toml grants it timers here (within its timers quota), before
            // it first runs here.
            // A returning app keeps its section here, and what it grants; a new one gets what `options` says.
            let kept = state.withLock { $0.node.apps[id] }
            let section = kept ?? config.apps[id] ?? NodeConfig.App()
            let timersGranted = kept == nil && options.grantRequested ? staged.package.manifest.capabilities.timers : section.grants.timers
            let dropped = timersGranted ? 0 : rows.timers.count
            if !timersGranted { rows.timers = [] }
            let adopted: (timers: Int, renumbered: Int)
            do throws(BrokerError) { adopted = try broker.events.adopt(rows, app: id, timerBytes: Int64(section.timersQuotaMB) << 20) } catch {
                undo()
                throw NodeError(.storage, "cannot take in '\(id)''s timers: \(error.message)")
            }
            if let left {
                do throws(NodeError) { try reenableReturned(left) } catch {
                    broker.events.forgetTimers(app: id)
                    undo()
                    throw error
                }
            }
            let installed: Installed
            do throws(NodeError) { installed = try installNew(staged.package, version: version, record: nil, options: options, actor: actor, tag: tag) } catch {
                // Installed but not starting, the app stays (as any failed start does); not installed at all, a
                // returning app is put back as it was: moved away, disabled.
                if state.withLock({ $0.entries[id] == nil }) {
                    broker.events.forgetTimers(app: id)
                    if let left {
                        try? reenableReturned(left, enabled: false)
                        undo()
                    }
                }
                throw error
            }
            broker.audit.append(actor: actor, app: id, action: "app.import", decision: "ok",
                                cause: "\(installed.version) from node \(contents.info.node), with its database and identity, "
                                    + (left.map { "back on this node (what it left here is set aside in \($0.path)), " } ?? "")
                                    + "\(adopted.timers) pending timers"
                                    + (dropped > 0 ? " (\(dropped) dropped: node.toml grants it no timers here, so its wake-ups must be armed again)" : "")
                                    + AuditLog.requestSuffix(tag))
            return Imported(installed: installed, from: contents.info.node)
        }
    }

    /// `key`, else the one `settings` name (`[backup] key_file`; by default node.toml's as it is now).
    func backupKey(_ key: BackupKey?, settings: BackupSettings? = nil) throws(NodeError) -> BackupKey {
        if let key { return key }
        let settings = settings ?? backupSettings
        guard let file = settings.keyFile else {
            throw NodeError(.config, "the node has no backup key: set [backup] key_file = \"/etc/syneroym/backup.key\" in node.toml (make one with `syneroym backup --make-key /etc/syneroym/backup.key`, and keep a copy off this machine), or give --key-file")
        }
        do { return try BackupKey.load(path: file) } catch { throw NodeError(.config, error.message) }
    }
}

extension NodeRuntime {
    /// Marks `app` as moved to node `to` (after its export was imported there): its workers stop, node.toml gets
    /// `enabled = false`, and calls get 410 `app_moved` naming that node, also after restarts
    /// (`apps/<id>/moved.json`). Audited as `app.moved`.
    public func markMoved(_ app: String, to node: String, actor: String, tag: String = "") throws(NodeError) {
        guard NameRules.isNodeID(node) else { throw NodeError(.config, "'\(node.prefix(64))' is not a node id (43 characters of base64url, as `apps export` prints it)") }
        try exclusively { () throws(NodeError) in
            guard state.withLock({ $0.entries[app] != nil }) else { throw NodeError(.unknownApp, "no app '\(app)' on this node") }
            let path = InstalledApp.directory(data: layout.data, app: app) + "/moved.json"
            // Whether it served here, so that it is enabled again if it comes back.
            let enabled = state.withLock { $0.node.apps[app]?.enabled ?? true }
            do {
                try JSONSerialization.data(withJSONObject: ["to": node, "at": Self.timestamp(), "enabled": enabled] as [String: Any], options: [.sortedKeys])
                    .write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch { throw NodeError(.io, "cannot write \(path): \(error.localizedDescription)") }
            _ = try NodeTomlEditor.setEnabled(false, app: app, path: layout.nodeToml)
            unlink(InstalledApp.directory(data: layout.data, app: app) + "/moving.json")
            state.withLock {
                $0.node.apps[app, default: NodeConfig.App()].enabled = false
                $0.moved[app] = node
                $0.moving[app] = nil
            }
            stopForSwap(app)
            // Its timers went with it. Its messages for peers are still delivered from here, as the stream they
            // belong to.
            broker.events.forgetTimers(app: app)
            state.withLock { $0.appsChanged }()
            broker.audit.append(actor: actor, app: app, action: "app.moved", decision: "ok",
                                cause: "moved to node \(node); calls get 410 app_moved" + AuditLog.requestSuffix(tag))
        }
    }

    /// The node `app` was imported from (`apps import`, `apps migrate`), if it was.
    public func importedFrom(_ app: String) -> String? {
        guard let from = Self.readMarker(InstalledApp.directory(data: layout.data, app: app) + "/origin.json")?["from"] as? String,
              NameRules.isNodeID(from) else { return nil }
        return from
    }

    /// A marker file's JSON object (`moved.json`, `moving.json`, `origin.json`), if it is one.
    static func readMarker(_ path: String) -> [String: Any]? {
        guard let bytes = FileManager.default.contents(atPath: path) else { return nil }
        return (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any]
    }

    /// The apps marked as moved in `data`, by id.
    static func movedApps(data: String) -> [String: String] { nodeMarkers(data: data, file: "moved.json") }

    /// The node each app's `apps/<id>/<file>` names (`{"to": NODE_ID}`), by app id.
    static func nodeMarkers(data: String, file: String) -> [String: String] {
        var out: [String: String] = [:]
        for id in (try? FileManager.default.contentsOfDirectory(atPath: data + "/apps")) ?? [] {
            guard let to = readMarker(data + "/apps/\(id)/\(file)")?["to"] as? String, NameRules.isNodeID(to) else { continue }
            out[id] = to
        }
        return out
    }
}
