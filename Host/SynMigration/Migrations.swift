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
        /// How each app's latest migration ended, for those asking after it.
        var outcomes: [String: MigrationStatus] = [:]
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
        guard stat(bundle, &st) == 0, let digest = Self.sha256(bundle) else { throw NodeError(.io, "cannot read \(bundle) back (errno \(errno))") }
        let id = UInt64.random(in: 1...UInt64.max)
        let record = MigrationRecord(app: app, to: peer, id: id, size: UInt64(st.st_size), digest: digest, key: raw, bundle: bundle,
                                     started: Self.timestamp())
        do { try record.save(in: directory) } catch {
            unlink(bundle)
            throw NodeError(.io, "cannot write \(MigrationRecord.path(directory, app)): \(error.localizedDescription)")
        }
        return record
    }

    /// Gives `app`'s migration up while the peer does not hold all of it: the app serves here again.
    public func cancel(_ app: String, actor: String, tag: String = "") throws(NodeError) -> MigrationStatus {
        guard let record = state.withLock({ $0.records[app] }) else {
            throw NodeError(.unknownApp, "no migration of '\(app)' is under way on this node")
        }
        if let progress = links.transferProgress(record.id), progress.acked >= record.size {
            throw NodeError(.busy, "node \(record.to) holds all of '\(app)' and may have installed it already; wait for its answer (`syneroym apps migrate \(app) --to \(record.to)` shows it)")
        }
        links.cancelTransfer(record.id)
        finish(record, ok: false, message: "cancelled by the node's owner", actor: actor, tag: tag)
        return status(app) ?? MigrationStatus(app: app, to: record.to, phase: .failed, sent: 0, size: record.size, resumedAt: 0, message: "cancelled")
    }

    /// Where `app`'s migration stands (the latest one, when none is under way), or nil when it never had one.
    public func status(_ app: String) -> MigrationStatus? {
        let (record, exporting, outcome) = state.withLock { ($0.records[app], $0.exporting[app], $0.outcomes[app]) }
        if let record {
            let progress = links.transferProgress(record.id)
            let sent = progress?.acked ?? 0
            return MigrationStatus(app: app, to: record.to, phase: sent >= record.size ? .installing : .sending, sent: sent, size: record.size,
                                   resumedAt: progress?.resumedAt ?? 0, message: progress?.started == true ? nil : "waiting for a link to node \(record.to)")
        }
        if let exporting { return MigrationStatus(app: app, to: exporting, phase: .exporting, sent: 0, size: 0, resumedAt: 0, message: nil) }
        return outcome
    }

    /// Picks up the migrations a restart interrupted; an app left stopped by one that never got under way serves again.
    private func resume() {
        var records: [String: MigrationRecord] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".json") {
            if let r = MigrationRecord.load(directory + "/" + name), FileManager.default.fileExists(atPath: r.bundle) { records[r.app] = r }
        }
        state.withLock { $0.records = records }
        for app in runtime.apps().map(\.id) {
            if let record = records[app] {
                if runtime.movingTo(app) == nil { try? runtime.beginMove(app, to: record.to, actor: "node", tag: "migration resumed") }
                links.send(record.transfer)
            } else if runtime.movingTo(app) != nil {
                try? runtime.endMove(app, why: "its migration did not get under way before the node stopped", actor: "node", start: false)
            }
        }
    }

    /// The migration of `record` ended: the app moved, or serves here again.
    private func finish(_ record: MigrationRecord, ok: Bool, message: String, actor: String, tag: String = "") {
        let app = record.app
        var outcome = message
        if ok {
            // Another change to the node's apps may be under way: the app stays stopped until it is marked moved.
            var marked = false
            for _ in 0..<600 {
                do throws(NodeError) {
                    try runtime.markMoved(app, to: record.to, actor: actor, tag: tag)
                    marked = true
                    break
                } catch where error.code == .busy { usleep(100_000) } catch {
                    outcome += "; but this node could not mark it moved: \(error.message)"
                    break
                }
            }
            if !marked { runtime.logger.error("app migrated but not marked moved", metadata: ["app": "\(app)", "to": "\(record.to)"]) }
        } else {
            for _ in 0..<600 {
                do throws(NodeError) {
                    try runtime.endMove(app, why: "its migration to node \(record.to) ended: \(message)", actor: actor, tag: tag)
                    break
                } catch where error.code == .busy { usleep(100_000) } catch { break }
            }
        }
        unlink(record.bundle)
        unlink(MigrationRecord.path(directory, app))
        let progress = links.transferProgress(record.id)
        state.withLock {
            $0.records[app] = nil
            $0.outcomes[app] = MigrationStatus(app: app, to: record.to, phase: ok ? .moved : .failed, sent: progress?.acked ?? (ok ? record.size : 0),
                                               size: record.size, resumedAt: progress?.resumedAt ?? 0, message: outcome)
        }
        runtime.broker.audit.append(actor: actor, app: app, action: "app.migrate", decision: ok ? "ok" : "failed",
                                    cause: (ok ? "moved to node \(record.to): " : "to node \(record.to): ") + outcome + AuditLog.requestSuffix(tag))
    }

    // MARK: - AppTransfers

    public var transferDirectory: String { runtime.layout.data + "/incoming" }

    public func refusal(app: String, size: UInt64, from peer: String) -> String? {
        // node.toml as it is now: the owner lets a node in without restarting.
        let settings = (try? NodeConfig.load(path: runtime.layout.nodeToml))?.migration ?? runtime.config.migration
        guard settings.acceptFrom.contains(peer) else {
            return "this node takes apps only from the nodes node.toml [migration] accept_from lists; its owner adds \"\(peer)\" there"
        }
        guard size <= UInt64(settings.maxMB) << 20 else {
            return "'\(app)' is \(size >> 20) MiB; this node takes apps up to \(settings.maxMB) MiB (node.toml [migration] max_mb)"
        }
        if runtime.hasApp(app) || FileManager.default.fileExists(atPath: runtime.layout.data + "/apps/\(app)/app.key") {
            return "this node has an app '\(app)' (or its data) already; a migration never replaces one"
        }
        // The bundle, then the app unpacked from it, above the space the node keeps free.
        var fs = statvfs()
        if statvfs(runtime.layout.data, &fs) == 0 {
            let free = UInt64(fs.f_bavail) * UInt64(fs.f_frsize)
            let needed = 2 * size + UInt64(runtime.config.reserveMB) << 20
            if free < needed { return "this node has \(free >> 20) MiB free; '\(app)' needs \(needed >> 20) MiB (twice its size, and node.toml [node] reserve_mb)" }
        }
        return nil
    }

    public func arrived(app: String, path: String, key: [UInt8], from peer: String) -> (ok: Bool, message: String) {
        let secret: SecretKey
        do { secret = try SecretKey(bytes: key) } catch { return (false, error.message) }
        let settings = (try? NodeConfig.load(path: runtime.layout.nodeToml))?.migration ?? runtime.config.migration
        let options = NodeRuntime.InstallOptions(grantRequested: settings.grantRequested)
        let node = Base64URL.encode(runtime.broker.nodePublicKey)
        for _ in 0..<600 {
            do throws(NodeError) {
                let done = try runtime.importApp(from: path, key: .key(secret), expectedNode: peer, options: options, actor: "peer \(peer)",
                                                 tag: "migrated from \(peer)")
                let waits = done.installed.state == "disabled" ? " (it waits disabled: node.toml [migration] grant_requested is false)" : ""
                return (true, "node \(node) installed \(app) \(done.installed.version): \(done.installed.state)\(waits)")
            } catch where error.code == .busy && !error.message.contains("stopping") {
                usleep(100_000)
            } catch {
                return (false, "node \(node) did not install '\(app)': \(error.message)")
            }
        }
        return (false, "node \(node) was busy with other changes to its apps for a minute; run the migration again")
    }

    public func ended(_ transfer: OutgoingTransfer, ok: Bool, message: String) {
        guard let record = state.withLock({ $0.records[transfer.app] }), record.id == transfer.id else { return }
        finish(record, ok: ok, message: message, actor: "node")
    }

    public func peerAppMoved(app: String, from peer: String, to: String, retargeted: Int) {
        let known = links.peers.contains(to)
        runtime.broker.audit.append(actor: "node", app: app, action: "peer.app_moved", decision: known ? "ok" : "noted",
                                    cause: "peer \(peer) says '\(app)' moved to node \(to); "
                                        + (known ? "\(retargeted) waiting messages now go there" : "that node is not a peer here: add it (`syneroym peers add INVITE`) and its messages go there"))
    }

    static func sha256(_ path: String) -> [UInt8]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var hash = SHA256Stream()
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty { hash.update(Array(chunk)) }
        return hash.finish()
    }

    static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }
}
