import CSynSys
public import Foundation
import Logging
import SynBroker
import SynConfig
public import SynSandbox
import SynSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The owner's view and actions: apps' status, enable and disable, restart, logs and footprints.
extension NodeRuntime {
    /// Every app, in manifest order.
    public func apps() -> [AppStatus] {
        state.withLock { s in s.order.compactMap { id in s.entries[id].map { status($0, enabled: s.isEnabled(id), moved: s.moved[id] != nil, moving: s.moving[id] != nil) } } }
    }

    /// Whether the node has an app `id` (enabled or not): one dictionary lookup, for every request.
    public func hasApp(_ id: String) -> Bool { state.withLock { $0.entries[id] != nil } }

    /// One app, or nil.
    public func app(_ id: String) -> AppStatus? {
        state.withLock { s in s.entries[id].map { status($0, enabled: s.isEnabled(id), moved: s.moved[id] != nil, moving: s.moving[id] != nil) } }
    }

    private func status(_ e: AppEntry, enabled: Bool, moved: Bool = false, moving: Bool = false) -> AppStatus {
        let state: String
        if moved {
            state = "moved"
        } else if moving {
            state = "moving"
        } else if e.problem != nil {
            state = "failed"
        } else if !enabled {
            state = "disabled"
        } else {
            state = e.supervisor?.state.rawValue ?? "stopped"
        }
        var status = AppStatus(id: e.manifest.id, name: e.manifest.name, version: e.manifest.version, state: state,
                               profile: e.profile?.name ?? e.manifest.profile, publicMethods: e.manifest.publicMethods,
                               problem: e.problem ?? e.supervisor?.failureReason)
        status.busyInstances = e.supervisor?.busyInstances ?? 0
        return status
    }

    /// Called after an owner's action changed which apps run (the links send the peers the topics they subscribe to).
    public var onAppsChanged: @Sendable () -> Void {
        get { state.withLock { $0.appsChanged } }
        set { state.withLock { $0.appsChanged = newValue } }
    }

    /// Enables or disables `app`: persisted in node.toml (`apps.<id>.enabled`), applied now, and audited.
    @discardableResult
    public func setEnabled(_ enabled: Bool, app: String, actor: String, tag: String = "") throws(NodeError) -> AppStatus {
        // One lifecycle change at a time: never beside an install, rollback or backup.
        try exclusively { () throws(NodeError) -> AppStatus in try changeEnabled(enabled, app: app, actor: actor, tag: tag) }
    }

    private func changeEnabled(_ enabled: Bool, app: String, actor: String, tag: String) throws(NodeError) -> AppStatus {
        guard hasApp(app) else { throw NodeError(.unknownApp, "no app '\(app)' on this node") }
        try refuseWhileMoving(app)
        // Only this key takes effect now: other edits to node.toml (grants, owners, limits) wait for a restart,
        // as documented, rather than half-apply.
        _ = try NodeTomlEditor.setEnabled(enabled, app: app, path: layout.nodeToml)
        state.withLock { $0.node.apps[app, default: NodeConfig.App()].enabled = enabled }
        var problem: String?
        if enabled {
            problem = startApp(app)
        } else {
            state.withLock { $0.entries[app]?.supervisor }?.stop()
            streams.finishAll(app: app, .appStopped)
        }
        state.withLock { $0.appsChanged }()
        broker.audit.append(actor: actor, app: app, action: enabled ? "app.enable" : "app.disable",
                            decision: problem == nil ? "ok" : "failed",
                            cause: (problem ?? "node.toml apps.\(app).enabled = \(enabled)") + AuditLog.requestSuffix(tag))
        if let problem { throw NodeError(.appLoad, problem) }
        return self.app(app) ?? AppStatus(id: app, name: app, version: "", state: "unknown", profile: "", publicMethods: [], problem: nil)
    }

    /// Restarts `app`'s workers (clearing a `failed` state) after reading its node.toml section again: its grants,
    /// profile and quotas take effect now. Other apps' sections wait for their own restart. Audited.
    @discardableResult
    public func restart(app: String, actor: String, tag: String = "") throws(NodeError) -> AppStatus {
        try exclusively { () throws(NodeError) -> AppStatus in try restartApp(app, actor: actor, tag: tag) }
    }

    private func restartApp(_ app: String, actor: String, tag: String) throws(NodeError) -> AppStatus {
        guard let entry = state.withLock({ $0.entries[app] }) else { throw NodeError(.unknownApp, "no app '\(app)' on this node") }
        try refuseWhileMoving(app)
        let reloaded: NodeConfig
        do { reloaded = try NodeConfig.load(path: layout.nodeToml) } catch {
            throw NodeError(.config, "node.toml does not load, so '\(app)' keeps running as it was: \(error)")
        }
        guard reloaded.apps[app]?.enabled != false else {
            throw NodeError(.appLoad, "app '\(app)' is disabled (node.toml apps.\(app).enabled); enable it first")
        }
        // Its grants may change: open streams end, and their clients open them again.
        streams.finishAll(app: app, .appStopped)
        if let supervisor = entry.supervisor {
            supervisor.stop()
            for _ in 0..<500 where supervisor.hasLiveThreads { usleep(10_000) }
        }
        // This app's section as it is now; the node's other settings stay as loaded.
        let fresh: NodeConfig = state.withLock {
            $0.node.apps[app] = reloaded.apps[app]
            return $0.node
        }
        let prepared = preparedEntry(entry.manifest, config: fresh)
        // Read outside the lock: a footprint asks the workers' cgroups.
        let earlier = entry.supervisor.map { entry.earlier.adding($0.footprint) } ?? entry.earlier
        state.withLock {
            $0.entries[app] = prepared
            $0.entries[app]?.earlier = earlier
        }
        let problem = prepared.problem ?? startApp(app)
        state.withLock { $0.appsChanged }()
        let profileName = state.withLock { $0.entries[app]?.profile?.name } ?? "?"
        broker.audit.append(actor: actor, app: app, action: "app.restart", decision: problem == nil ? "ok" : "failed",
                            cause: (problem ?? "restarted by the node owner with node.toml's [apps.\(app)] as it is now (profile \(profileName))")
                                + AuditLog.requestSuffix(tag))
        if let problem { throw NodeError(.appLoad, problem) }
        return self.app(app) ?? AppStatus(id: app, name: app, version: "", state: "unknown", profile: "", publicMethods: [], problem: nil)
    }

    /// The most recent log lines of `app` (at most 1000 are kept), oldest first: time, `SYN_LOG_*` level,
    /// message and request id.
    public func logs(of app: String, count: Int) -> [(time: Date, level: Int32, message: String, requestID: String)] {
        logRing.recent(app, count: count).map { ($0.time, $0.level, $0.message, $0.requestID) }
    }

    /// Per-app footprints (calls, errors, time, storage, events, denials, deaths).
    public func footprints() -> [(app: String, footprint: AppFootprint)] {
        let running = state.withLock { s in s.order.compactMap { id in s.entries[id].flatMap { e in e.supervisor.map { (id, $0, e.earlier) } } } }
        return running.map { ($0.0, broker.complete($0.1.footprint.adding($0.2), of: $0.0)) }
    }

    func writeStats() {
        StatsFile.write(footprints().map { ($0.app, $0.footprint) }, toDirectory: layout.data)
        // After a burst of connections the allocator keeps the freed memory; hand it back while idle.
        if state.withLock({ $0.inFlight }) == 0 { _ = csyn_malloc_trim() }
    }

    func applyRetention() {
        let node = config
        let cutoff = WallClock.nowNs() - Int64(node.eventRetentionDays) * 86_400 * 1_000_000_000
        let (deleted, undelivered) = broker.events.prune(olderThanNs: cutoff, maxEvents: node.maxEvents,
                                                         subscribers: dispatcher.subscribers)
        guard deleted > 0 else { return }
        logger.notice("event log pruned", metadata: ["removed": "\(deleted)", "undelivered": "\(undelivered)"])
        if undelivered > 0 {
            broker.audit.append(actor: "node", app: "", action: "events.retention", decision: "dropped",
                                cause: "\(undelivered) undelivered events removed by node.toml [events] retention_days=\(node.eventRetentionDays) / max_events=\(node.maxEvents)")
        }
    }
}
