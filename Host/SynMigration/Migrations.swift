import Foundation
import Logging
import SynBackup
import SynBroker
public import SynConfig
public import SynFederation
public import SynRuntime
import SynSodium
import SynSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `syneroym apps migrate APP --to PEER`: an app, its database and its identity moved to a peer over their link.
///
/// On this node: the app stops (calls get 503 `app_moving`), its bundle is exported under a one-time key into
/// `<data>/migrations`, and the link service sends it, resuming after a cut link or a restart of either node. When
/// the peer answers that it installed the app, this node marks it moved (410 `app_moved` naming the peer, and
/// peers' messages for it are redirected); when the peer refuses it, or the owner cancels before the peer has all
/// of it, the app serves here again. Nothing the app writes is lost: it does not run while its copy travels.
///
/// On the peer: an offer is taken only from a node `[migration] accept_from` lists, up to `max_mb`, with room on
/// disk; the bundle is checked as `apps import` checks one (and must be signed by the sending node) and installed
/// with what `[migration] grant_requested` says.
public final class Migrations: AppTransfers {
    let runtime: NodeRuntime
    let links: LinkService
    let directory: String

    struct State {
        var records: [String: MigrationRecord] = [:]
        /// Apps whose bundle is being written.
        var exporting: [String: String] = [:]
        /// Apps whose migration is ending (one ending at a time: the answer and a cancel may race).
        var ending: Set<String> = []
        /// How each app's latest migration ended, for those asking after it.
        var outcomes: [String: MigrationStatus] = [:]
        /// node.toml's `[migration]` as last read, and the file's modification time then.
        var settings: (mtime: Int, value: MigrationSettings)?
    }

    let state = Mutex(State())

    public init(runtime: NodeRuntime, links: LinkService) {
        self.runtime = runtime
        self.links = links
        directory = runtime.layout.data + "/migrations"
        links.transferPace = runtime.config.migration.maxSendKBPerSecond * 1024
        links.attach(transfers: self)
        resume()
    }

    /// Starts moving `app` to `peer`, or goes on with the migration already under way to it.
    public func start(_ app: String, to peer: String, actor: String, tag: String = "") throws(NodeError) -> MigrationStatus {
        guard runtime.hasApp(app) else { throw NodeError(.unknownApp, "no app '\(app)' on this node") }
        if let record = state.withLock({ $0.records[app] }) {
            guard record.to == peer else {
                throw NodeError(.busy, "app '\(app)' is moving to node \(record.to); `syneroym apps migrate \(app) --cancel` first")
            }
            links.send(record.transfer)
            return status(app) ?? MigrationStatus(app: app, to: peer, phase: .sending, sent: 0, size: record.size, resumedAt: 0, message: nil)
        }
        guard NameRules.isNodeID(peer) else { throw NodeError(.config, "'\(peer.prefix(64))' is not a node id (43 characters of base64url, as `syneroym peers list` shows it)") }
        guard links.peers.contains(peer) else {
            throw NodeError(.config, "node \(peer) is not a peer of this node: add it first with `syneroym peers add INVITE` (its owner prints the invite with `syneroym peers invite`)")
        }
        if let to = runtime.movedTo(app) { throw NodeError(.version, "app '\(app)' has moved to node \(to) already") }
        let taken = state.withLock { s -> Bool in
            guard s.exporting[app] == nil else { return false }
            s.exporting[app] = peer
            s.outcomes[app] = nil
            return true
        }
        guard taken else { throw NodeError(.busy, "app '\(app)''s bundle is being written; run the command again to follow it") }
        defer { state.withLock { _ = $0.exporting.removeValue(forKey: app) } }
        try runtime.beginMove(app, to: peer, actor: actor, tag: tag)
        do throws(NodeError) {
            let record = try export(app, to: peer)
            state.withLock { $0.records[app] = record }
            runtime.broker.audit.append(actor: actor, app: app, action: "app.migrate", decision: "started",
                                        cause: "sending \(record.size) bytes to node \(peer) (transfer \(record.id))" + AuditLog.requestSuffix(tag))
            links.send(record.transfer)
            return status(app) ?? MigrationStatus(app: app, to: peer, phase: .sending, sent: 0, size: record.size, resumedAt: 0, message: nil)
        } catch {
            try? runtime.endMove(app, why: "its migration could not start: \(error.message)", actor: actor, tag: tag)
            runtime.broker.audit.append(actor: actor, app: app, action: "app.migrate", decision: "failed", cause: error.message + AuditLog.requestSuffix(tag))
            throw error
        }
    }

    /// Writes `app`'s bundle under a fresh key and records the migration.
    private func export(_ app: String, to peer: String) throws(NodeError) -> MigrationRecord {
        guard mkdir(directory, 0o700) == 0 || errno == EEXIST else { throw NodeError(.io, "cannot create \(directory): errno \(errno)") }
        var raw = SecureRandom.bytes(SecretKey.length)
        defer { for i in raw.indices { raw[i] = 0 } }
        let key: SecretKey
        do { key = try SecretKey(bytes: raw) } catch { throw NodeError(.io, error.message) }
        let bundle = directory + "/\(app).synexport"
        unlink(bundle)
        _ = try runtime.exportApp(app, to: bundle, key: .key(key), actor: "node", tag: "migrate to \(peer)")
        var st = stat()
        guard stat(bundle, &st) == 0, let digest = try? FileDigest.sha256(path: bundle) else { throw NodeError(.io, "cannot read \(bundle) back (errno \(errno))") }
        let id = UInt64.random(in: 1...UInt64.max)
        let record = MigrationRecord(app: app, to: peer, id: id, size: UInt64(st.st_size), digest: digest, key: raw, bundle: bundle,
                                     started: Self.timestamp())
        do { try record.save(in: directory) } catch {
            unlink(bundle)
            throw NodeError(.io, "cannot write \(MigrationRecord.path(directory, app)): \(error.localizedDescription)")
        }
        return record
    }

    /// Gives `app`'s migration up while the peer cannot have all of it: the app serves here again. Once every byte
    /// went out the peer may be installing it, and only `force` (the peer is gone for good) takes it back: if the
    /// peer did install it, both nodes serve it.
    public func cancel(_ app: String, force: Bool = false, actor: String, tag: String = "") throws(NodeError) -> MigrationStatus {
        guard let record = state.withLock({ $0.records[app] }) else {
            throw NodeError(.unknownApp, "no migration of '\(app)' is under way on this node")
        }
        if record.installed { throw NodeError(.busy, "node \(record.to) installed '\(app)' already; this node is marking it moved") }
        let allSent = "every byte of '\(app)' went to node \(record.to), which may be installing it; wait for its answer (`syneroym apps migrate \(app) --to \(record.to)` follows it). If that node is gone for good, `syneroym apps migrate \(app) --cancel --force` takes the app back here; if it did install it, both nodes serve it"
        if !force && record.sentAll { throw NodeError(.busy, allSent) }
        // The check and the cancel are one step on the link: a last chunk sent meanwhile refuses it too.
        switch links.cancelTransfer(record.id, force: force) {
        case .allSent:
            throw NodeError(.busy, allSent)
        case .unknown:
            // The answer came first, and ends the migration instead.
            return status(app) ?? MigrationStatus(app: app, to: record.to, phase: .installing, sent: record.size, size: record.size, resumedAt: 0, message: nil)
        case .cancelled:
            finish(record, ok: false, message: force ? "cancelled by the node's owner (forced, after all of it was sent)" : "cancelled by the node's owner", actor: actor, tag: tag)
            return status(app) ?? MigrationStatus(app: app, to: record.to, phase: .failed, sent: 0, size: record.size, resumedAt: 0, message: "cancelled")
        }
    }

    /// Where `app`'s migration stands (the latest one, when none is under way), or nil when it never had one.
    public func status(_ app: String) -> MigrationStatus? {
        let (record, exporting, outcome) = state.withLock { ($0.records[app], $0.exporting[app], $0.outcomes[app]) }
        if let record, record.installed {
            return MigrationStatus(app: app, to: record.to, phase: .installing, sent: record.size, size: record.size, resumedAt: 0,
                                   message: "node \(record.to) installed it; this node is marking it moved")
        }
        if let record {
            let progress = links.transferProgress(record.id)
            let sent = progress?.acked ?? 0
            return MigrationStatus(app: app, to: record.to, phase: sent >= record.size ? .installing : .sending, sent: sent, size: record.size,
                                   resumedAt: progress?.resumedAt ?? 0, message: progress?.started == true ? nil : "waiting for a link to node \(record.to)")
        }
        if let exporting { return MigrationStatus(app: app, to: exporting, phase: .exporting, sent: 0, size: 0, resumedAt: 0, message: nil) }
        return outcome
    }

    /// Picks up the migrations a restart interrupted: one the peer answered yes is marked moved; the others are
    /// sent again (the peer resumes them). An app left stopped by one that never got under way serves again.
    private func resume() {
        var records: [String: MigrationRecord] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".json") {
            if let r = MigrationRecord.load(directory + "/" + name), r.installed || FileManager.default.fileExists(atPath: r.bundle) { records[r.app] = r }
        }
        state.withLock { $0.records = records }
        for app in runtime.apps().map(\.id) {
            if let record = records[app] {
                if record.installed {
                    let migrations = self
                    Thread.detachNewThread { migrations.finish(record, ok: true, message: record.answer, actor: "node") }
                    continue
                }
                if runtime.movingTo(app) == nil { try? runtime.beginMove(app, to: record.to, actor: "node", tag: "migration resumed") }
                links.send(record.transfer)
            } else if runtime.movingTo(app) != nil {
                try? runtime.endMove(app, why: "its migration did not get under way before the node stopped", actor: "node", start: false)
            }
        }
    }

    /// The migration of `record` ended: the app moved, or serves here again. One ending at a time per app (the
    /// answer and a cancel may race). A yes is kept on disk first: until the app is marked moved it is retried,
    /// also after a restart, and the app never serves here again.
    private func finish(_ record: MigrationRecord, ok: Bool, message: String, actor: String, tag: String = "") {
        let app = record.app
        guard state.withLock({ s -> Bool in
            guard s.records[app]?.id == record.id, !s.ending.contains(app) else { return false }
            s.ending.insert(app)
            return true
        }) else { return }
        defer { state.withLock { _ = $0.ending.remove(app) } }
        let progress = links.transferProgress(record.id)
        if ok {
            // Saved under the lock, as `allSent` saves: neither overwrites the other's change.
            state.withLock { s in
                var kept = s.records[app] ?? record
                kept.installed = true
                kept.answer = message
                try? kept.save(in: directory)
                s.records[app] = kept
            }
            // Another change to the node's apps may be under way: retried until it is marked moved, or the node stops
            // (the next start goes on).
            var failure: String?
            while true {
                do throws(NodeError) {
                    try runtime.markMoved(app, to: record.to, actor: actor, tag: tag)
                    failure = nil
                    break
                } catch {
                    failure = error.message
                    if error.code == .busy && error.message.contains("stopping") { break }
                    runtime.logger.warning("the app moved, and is not marked moved yet", metadata: ["app": "\(app)", "to": "\(record.to)", "error": "\(error.message)"])
                    sleep(error.code == .busy ? 1 : 10)
                }
            }
            if let failure {
                // The node is stopping: the record stays, and the next start marks it moved.
                runtime.logger.error("the app moved, and is not marked moved yet", metadata: ["app": "\(app)", "to": "\(record.to)", "error": "\(failure)"])
                return
            }
        }
        // The record goes first: a restart from here on never takes the migration up again.
        unlink(MigrationRecord.path(directory, app))
        unlink(record.bundle)
        state.withLock {
            $0.records[app] = nil
            $0.outcomes[app] = MigrationStatus(app: app, to: record.to, phase: ok ? .moved : .failed, sent: progress?.acked ?? (ok ? record.size : 0),
                                               size: record.size, resumedAt: progress?.resumedAt ?? 0, message: message)
        }
        if !ok {
            for _ in 0..<600 {
                do throws(NodeError) {
                    try runtime.endMove(app, why: "its migration to node \(record.to) ended: \(message)", actor: actor, tag: tag)
                    break
                } catch where error.code == .busy && !error.message.contains("stopping") { usleep(100_000) } catch { break }
            }
        }
        runtime.broker.audit.append(actor: actor, app: app, action: "app.migrate", decision: ok ? "ok" : "failed",
                                    cause: (ok ? "moved to node \(record.to): " : "to node \(record.to): ") + message + AuditLog.requestSuffix(tag))
    }

    // MARK: - AppTransfers

    public var transferDirectory: String { runtime.layout.data + "/incoming" }

    /// `[migration]` as node.toml says now (read again when the file changed): the owner lets a node in without
    /// restarting.
    func settings() -> MigrationSettings {
        var st = stat()
        let mtime = stat(runtime.layout.nodeToml, &st) == 0 ? st.st_mtim.tv_sec * 1_000_000_000 + st.st_mtim.tv_nsec : 0
        if let cached = state.withLock({ $0.settings }), cached.mtime == mtime { return cached.value }
        let value = (try? NodeConfig.load(path: runtime.layout.nodeToml))?.migration ?? runtime.config.migration
        state.withLock { $0.settings = (mtime, value) }
        return value
    }

    public func refusal(app: String, size: UInt64, from peer: String, alsoArriving: UInt64) -> String? {
        let settings = settings()
        guard settings.acceptFrom.contains(peer) else {
            return "this node takes apps only from the nodes node.toml [migration] accept_from lists; its owner adds \"\(peer)\" there"
        }
        guard size <= UInt64(settings.maxMB) << 20 else {
            return "'\(app)' is \(size >> 20) MiB; this node takes apps up to \(settings.maxMB) MiB (node.toml [migration] max_mb)"
        }
        // An app that moved away from this node may come back (what it left is set aside).
        if runtime.movedTo(app) == nil, runtime.hasApp(app) || FileManager.default.fileExists(atPath: runtime.layout.data + "/apps/\(app)/app.key") {
            return "this node has an app '\(app)' (or its data) already; a migration never replaces one"
        }
        // The bundle, then the app unpacked from it, above the space the node keeps free, and the same for the other
        // bundles arriving meanwhile.
        var fs = statvfs()
        if statvfs(runtime.layout.data, &fs) == 0 {
            let free = UInt64(fs.f_bavail) * UInt64(fs.f_frsize)
            let others = 2 &* alsoArriving
            let needed = 2 * size &+ others &+ UInt64(runtime.config.reserveMB) << 20
            if free < needed {
                return "this node has \(free >> 20) MiB free; '\(app)' needs \(needed >> 20) MiB (twice its size"
                    + (others > 0 ? ", twice the \(alsoArriving >> 20) MiB of other apps arriving now" : "") + ", and node.toml [node] reserve_mb)"
            }
        }
        return nil
    }

    public func arrived(app: String, path: String, key: [UInt8], from peer: String) -> (ok: Bool, message: String)? {
        let secret: SecretKey
        do { secret = try SecretKey(bytes: key) } catch { return (false, error.message) }
        let options = NodeRuntime.InstallOptions(grantRequested: settings().grantRequested)
        let node = Base64URL.encode(runtime.broker.nodePublicKey)
        while true {
            do throws(NodeError) {
                let done = try runtime.importApp(from: path, key: .key(secret), expectedNode: peer, expectedApp: app, options: options,
                                                 actor: "peer \(peer)", tag: "migrated from \(peer)")
                let waits = done.installed.state == "disabled" ? " (it waits disabled: node.toml [migration] grant_requested is false)" : ""
                return (true, "node \(node) installed \(app) \(done.installed.version): \(done.installed.state)\(waits)")
            } catch where error.code == .busy {
                // The node is stopping: tried again at the sender's next offer. Otherwise another change to the
                // node's apps is under way, and this one waits for it.
                if error.message.contains("stopping") { return nil }
                usleep(100_000)
            } catch {
                // Installed but not started: the copy here must never serve beside the one the sender keeps, so it
                // is marked as moved back to the sender (calls here get 410 naming it).
                if runtime.hasApp(app), runtime.movedTo(app) == nil {
                    try? runtime.markMoved(app, to: peer, actor: "node", tag: "migration from \(peer) failed")
                    return (false, "node \(node) installed '\(app)' but it does not start: \(error.message); its copy there is marked as moved back to this node and never serves")
                }
                return (false, "node \(node) did not install '\(app)': \(error.message)")
            }
        }
    }

    public func installed(app: String, from peer: String) -> Bool {
        runtime.hasApp(app) && runtime.movedTo(app) == nil && runtime.importedFrom(app) == peer
    }

    public func allSent(_ transfer: OutgoingTransfer) {
        state.withLock { s in
            guard var record = s.records[transfer.app], record.id == transfer.id, !record.sentAll, !s.ending.contains(transfer.app) else { return }
            record.sentAll = true
            try? record.save(in: directory)
            s.records[transfer.app] = record
        }
    }

    public func ended(_ transfer: OutgoingTransfer, ok: Bool, message: String) {
        guard let record = state.withLock({ $0.records[transfer.app] }), record.id == transfer.id, !record.installed else { return }
        finish(record, ok: ok, message: message, actor: "node")
    }

    public func maySend(app: String, to node: String) -> Bool { runtime.netPeerDenial(app: app, peer: node) == nil }

    public func peerAppMoved(app: String, from peer: String, to: String, retargeted: Int) {
        let known = links.peers.contains(to) && maySend(app: app, to: to)
        runtime.broker.audit.append(actor: "node", app: app, action: "peer.app_moved", decision: known ? "ok" : "noted",
                                    cause: "peer \(peer) says '\(app)' moved to node \(to); "
                                        + (known ? "\(retargeted) waiting messages now go there" : "that node is not a peer here, or '\(app)' may not send to it (its net.peers grant): its messages wait"))
    }

    static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }
}
