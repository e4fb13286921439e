import CSynSys
import Dispatch
public import Foundation
public import Logging
public import SynBroker
public import SynConfig
public import SynSandbox
#if canImport(Glibc)
import Glibc
#endif

/// The node: every app in the manifests directory under its profile and grants, the broker, the event dispatcher,
/// and the owner's management actions (enable, disable, restart), each audited. The gateway and the CLI drive it.
public final class NodeRuntime: @unchecked Sendable {
    public let layout: NodeLayout
    public let broker: Broker
    public let logger: Logger
    private let dispatcher: EventDispatcher
    private let logRing = AppLogRing()
    private let deadlines = CallDeadlines()
    let lock = Mutex()
    var node: NodeConfig
    var entries: [String: AppEntry] = [:]
    var order: [String] = []
    private var timers: [any DispatchSourceTimer] = []
    private var inFlight = 0
    private var stopped = false
    /// Why app calls are refused for lack of disk space (free space below node.toml `node.reserve_mb`), or nil.
    private var lowDisk: String?

    /// One app as the node knows it.
    struct AppEntry {
        let manifest: AppManifest
        var profile: SandboxProfile?
        var spec: WorkerSpec?
        var supervisor: AppSupervisor?
        var attached = false
        /// Why the app cannot run (profile or library missing), if it cannot.
        var problem: String?
        /// What the app's earlier supervisors (replaced by `apps restart`) counted.
        var earlier = AppFootprint()
    }

    /// The node's configuration as last loaded.
    public var config: NodeConfig { lock.withLock { node } }

    /// Loads everything and opens the broker; apps start with `start()`. Writes a node.toml granting the
    /// manifests' requests when there is none. A manifest that does not parse is skipped with a log line.
    public init(layout: NodeLayout, logger: Logger) throws(NodeError) {
        self.layout = layout
        self.logger = logger
        umask(0o077)
        do { try FileManager.default.createDirectory(atPath: layout.data, withIntermediateDirectories: true) } catch {
            throw NodeError(.io, "cannot create the data directory \(layout.data): \(error.localizedDescription)")
        }
        // Before anything in the directory is opened or written: one node per data directory.
        let directoryLock: DataDirectoryLock
        do { directoryLock = try DataDirectoryLock(directory: layout.data) } catch { throw NodeError(.dataDirectoryInUse, error.message) }
        var manifests: [AppManifest] = []
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: layout.manifests)) ?? []).filter { $0.hasSuffix(".toml") }.sorted()
        for file in files {
            let path = (layout.manifests as NSString).appendingPathComponent(file)
            do { manifests.append(try AppManifest.load(path: path)) } catch {
                logger.error("skipping manifest", metadata: ["file": "\(path)", "error": "\(error)"])
            }
        }
        // Before any worker or template process exists (cgroup v2 may move this process into a leaf first).
        if let problem = WorkerCgroup.prepare() {
            logger.warning("workers will run without cgroup limits (rlimits only)", metadata: ["reason": "\(problem)"])
        }
        let firstStart = !FileManager.default.fileExists(atPath: layout.nodeToml)
        if firstStart {
            do { try NodeConfig.granting(manifests).write(toFile: layout.nodeToml, atomically: true, encoding: .utf8) } catch {
                throw NodeError(.io, "cannot write \(layout.nodeToml): \(error.localizedDescription)")
            }
            logger.notice("wrote node.toml: each app is granted what its manifest requests", metadata: ["path": "\(layout.nodeToml)"])
        }
        do { node = try NodeConfig.load(path: layout.nodeToml) } catch { throw NodeError(.config, "\(error)") }
        do { broker = try Broker(dataDirectory: layout.data, node: node, lock: directoryLock) } catch { throw NodeError(.storage, error.message) }
        dispatcher = EventDispatcher(store: broker.events)
        for manifest in manifests where entries[manifest.id] == nil {
            entries[manifest.id] = preparedEntry(manifest, config: node)
            order.append(manifest.id)
        }
        let dispatcher = self.dispatcher
        broker.onCommit = { dispatcher.notify() }
        if firstStart {
            broker.audit.append(actor: "node", app: "", action: "config.create", decision: "ok",
                                cause: "wrote \(layout.nodeToml) granting the manifests' requests to \(order.joined(separator: ", "))")
        }
        let digest = (try? FileDigest.sha256Hex(path: layout.nodeToml)) ?? "unreadable"
        broker.audit.append(actor: "node", app: "", action: "node.start", decision: "ok",
                            cause: "apps \(manifests.map { "\($0.id) \($0.version)" }.joined(separator: ", ")); node.toml sha256 \(digest)")
    }

    /// The profile (the node owner's choice, else the manifest's) and the library of `entry`.
    /// A fresh entry for `manifest`: registered with the broker under `config` (node.toml as loaded, or as read
    /// again by `apps restart` and `apps add`), its profile and library resolved, or the problem that stops it.
    /// Reads files, so it is called without the lock.
    func preparedEntry(_ manifest: AppManifest, config: NodeConfig) -> AppEntry {
        var entry = AppEntry(manifest: manifest)
        do { try broker.register(manifest, reloaded: config) } catch { entry.problem = error.message }
        if entry.problem == nil { resolve(&entry, config: config) }
        return entry
    }

    func resolve(_ entry: inout AppEntry, config: NodeConfig) {
        let manifest = entry.manifest
        let name = config.apps[manifest.id]?.profile ?? manifest.profile
        let path = (layout.profiles as NSString).appendingPathComponent("\(name).toml")
        do {
            let profile = try SandboxProfile.load(path: path)
            let library: String
            if let sha256 = manifest.sha256, let pinned = pinnedCopy(sha256: sha256, app: manifest.id) {
                // Already verified and pinned: whatever has happened to the file the manifest names since.
                library = pinned
            } else {
                let found = try manifest.resolveLibrary(searchDirectories: layout.libraryDirectories)
                library = try manifest.sha256.map { sha256 throws(NodeError) in try pin(found, sha256: sha256, app: manifest.id) } ?? found
            }
            entry.profile = profile
            entry.spec = WorkerSpec(manifest: manifest, profile: profile, library: library, workerExecutable: layout.worker)
        } catch {
            entry.problem = "\(error)"
        }
    }

    /// The pinned copy of `app`'s library with `sha256`, if there is one and it still has that digest.
    private func pinnedCopy(sha256: String, app: String) -> String? {
        let pinned = layout.data + "/apps/\(app)/lib/\(sha256).so"
        guard FileManager.default.fileExists(atPath: pinned),
              (try? FileDigest.sha256Hex(path: pinned)) == sha256 else { return nil }
        return pinned
    }

    /// A library whose manifest names its sha256 is copied into the data directory (0400, named by its hash) and
    /// verified there, and workers start from that copy: replacing the file the manifest points at cannot change
    /// what a later restart loads.
    private func pin(_ library: String, sha256: String, app: String) throws(NodeError) -> String {
        let directory = layout.data + "/apps/\(app)/lib"
        let pinned = directory + "/\(sha256).so"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            if !FileManager.default.fileExists(atPath: pinned) {
                let temporary = pinned + ".tmp-\(getpid())"
                try? FileManager.default.removeItem(atPath: temporary)
                try FileManager.default.copyItem(atPath: library, toPath: temporary)
                chmod(temporary, 0o400)
                guard rename(temporary, pinned) == 0 else { throw NodeError(.io, "cannot place \(pinned): errno \(errno)") }
            }
        } catch let error as NodeError { throw error } catch {
            throw NodeError(.io, "cannot pin \(library) for '\(app)': \(error.localizedDescription)")
        }
        let actual: String
        do { actual = try FileDigest.sha256Hex(path: pinned) } catch { throw NodeError(.io, "\(error)") }
        guard actual == sha256 else {
            unlink(pinned)
            throw NodeError(.appLoad, "the pinned copy of \(library) has sha256 \(actual), not the manifest's app.sha256 \(sha256)")
        }
        return pinned
    }

    // MARK: - Lifecycle

    /// Why app calls are refused for lack of disk space, or nil.
    public var diskRefusal: String? { lock.withLock { lowDisk } }

    /// Measures the data directory's free space against node.toml `node.reserve_mb`; a change is logged and audited.
    func checkDisk() {
        let reserveMB = config.reserveMB
        var fs = statvfs()
        guard reserveMB > 0, statvfs(layout.data, &fs) == 0 else { return }
        let freeMB = (UInt64(fs.f_bavail) * UInt64(fs.f_frsize)) >> 20
        let refusal = freeMB < UInt64(reserveMB)
            ? "the node's disk has \(freeMB) MB free under \(layout.data), below its reserve (node.toml node.reserve_mb = \(reserveMB)); "
                + "app calls are refused until its owner frees space (audit and owner actions go on)"
            : nil
        let previous: String? = lock.withLock {
            defer { lowDisk = refusal }
            return lowDisk
        }
        guard (previous == nil) != (refusal == nil) else { return }
        if let refusal {
            logger.error("disk below the reserve: refusing app calls", metadata: ["free_mb": "\(freeMB)", "reserve_mb": "\(reserveMB)"])
            broker.audit.append(actor: "node", app: "", action: "node.disk", decision: "low", cause: refusal)
        } else {
            logger.notice("disk above the reserve again: serving app calls", metadata: ["free_mb": "\(freeMB)"])
            broker.audit.append(actor: "node", app: "", action: "node.disk", decision: "ok", cause: "\(freeMB) MB free, reserve \(reserveMB) MB")
        }
    }

    /// Why work that must be audited is refused now (the audit log cannot be written), or nil. A failing log is
    /// retried at most once a second.
    public func auditRefusal() -> String? {
        guard !broker.audit.retryIfFailing(), let failure = broker.audit.failure else { return nil }
        return "the node cannot write its audit log (\(failure.reason)), so it refuses what the log would record; "
            + "free space on the data directory's file system, check it with `syneroym doctor`"
    }

    /// How often new audit entries get a signed head, seconds.
    static let auditHeadIntervalS: Double = 2

    /// Starts every enabled app, event delivery, the statistics file and the event log's retention.
    public func start() {
        for id in lock.withLock({ order }) where node.apps[id]?.enabled != false { _ = startApp(id) }
        let stats = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        stats.schedule(deadline: .now() + 5, repeating: 5)
        stats.setEventHandler { [weak self] in self?.writeStats() }
        stats.resume()
        let retention = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        retention.schedule(deadline: .now(), repeating: 3600)
        retention.setEventHandler { [weak self] in self?.applyRetention() }
        retention.resume()
        // The audit log's head is signed at least this often while entries arrive (a no-op when none did).
        let audit = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        audit.schedule(deadline: .now() + Self.auditHeadIntervalS, repeating: Self.auditHeadIntervalS)
        audit.setEventHandler { [weak self] in self?.broker.audit.checkpoint() }
        audit.resume()
        // Free space, every second: below the reserve, app calls wait (audit and owner actions use the reserve).
        checkDisk()
        let disk = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        disk.schedule(deadline: .now() + 1, repeating: 1)
        disk.setEventHandler { [weak self] in self?.checkDisk() }
        disk.resume()
        lock.withLock { timers = [stats, retention, audit, disk] }
        writeStats()
    }

    /// Starts (or restarts after a stop) app `id`'s supervisor; the problem if it cannot run.
    func startApp(_ id: String) -> String? {
        guard let entry = lock.withLock({ entries[id] }) else { return "unknown app '\(id)'" }
        if let problem = entry.problem { return problem }
        guard let spec = entry.spec, let profile = entry.profile else { return "app '\(id)' has no worker spec" }
        if let existing = entry.supervisor {
            existing.start()
            return nil
        }
        let broker = self.broker, logger = self.logger, ring = self.logRing
        let budget = LogBudget(perSecond: lock.withLock { node.apps[id]?.logLinesPerSecond } ?? NodeConfig.App().logLinesPerSecond)
        let supervisor = AppSupervisor(
            spec: spec,
            policy: SupervisorPolicy(instances: profile.limits.instances, queueDepth: profile.limits.queueDepth),
            hostCalls: broker,
            log: { line in
                // A flood of log lines costs its own app lines, never the node's disk or its neighbours' time.
                let (write, dropped) = budget.admit()
                guard write else { return }
                if dropped > 0 {
                    logger.warning("app log lines dropped", metadata: [
                        "app": "\(line.app)", "dropped": "\(dropped)",
                        "limit": "node.toml apps.\(line.app).log_lines_per_s = \(budget.perSecond)"])
                }
                ring.append(line)
                var metadata: Logger.Metadata = ["app": "\(line.app)"]
                if !line.requestID.isEmpty { metadata["request_id"] = "\(line.requestID)" }
                logger.log(level: Self.level(line.level), "\(line.message)", metadata: metadata)
            },
            onEvent: { event in
                logger.info("app event", metadata: ["app": "\(id)", "event": "\(event)"])
                broker.audit.record(event)
            })
        supervisor.start()
        let policy = Policy(manifest: entry.manifest, node: lock.withLock { node })
        lock.withLock {
            entries[id]?.supervisor = supervisor
            entries[id]?.attached = true
        }
        dispatcher.attach(app: id, policy: policy, supervisor: supervisor)
        logger.info("app started", metadata: ["app": "\(id)", "version": "\(entry.manifest.version)", "profile": "\(profile.name)",
                                              "instances": "\(profile.limits.instances)"])
        return nil
    }

    /// `SYN_LOG_*` (0 trace … 4 error) as a swift-log level.
    static func level(_ level: Int32) -> Logger.Level {
        switch level {
        case ...0: .trace
        case 1: .debug
        case 2: .info
        case 3: .warning
        default: .error
        }
    }

    /// Stops taking calls, lets calls in flight finish for up to `drainSeconds`, stops every worker, writes the
    /// last statistics, audits the stop and closes the databases.
    public func shutdown(reason: String, drainSeconds: Int) {
        let already: Bool = lock.withLock {
            defer { stopped = true }
            return stopped
        }
        guard !already else { return }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(drainSeconds, 0)) * 1_000_000_000
        while lock.withLock({ inFlight }) > 0 && DispatchTime.now().uptimeNanoseconds < deadline { usleep(5_000) }
        let abandoned = lock.withLock { inFlight }
        for t in lock.withLock({ timers }) { t.cancel() }
        dispatcher.stop()
        let supervisors = lock.withLock { entries.values.compactMap(\.supervisor) }
        for s in supervisors { s.stop() }
        for _ in 0..<500 where supervisors.contains(where: { $0.state != .stopped || $0.hasLiveThreads }) { usleep(10_000) }
        writeStats()
        broker.audit.append(actor: "node", app: "", action: "node.stop", decision: "ok",
                            cause: reason + (abandoned > 0 ? "; \(abandoned) call(s) still running after \(drainSeconds) s were stopped" : ""))
        broker.close()
        logger.notice("node stopped", metadata: ["reason": "\(reason)"])
    }

    // MARK: - Calls

    /// Why a call did not reach the app, or did not come back.
    public enum CallFailure: Error, Sendable, Equatable {
        case unknownApp(String)
        case notRunning(app: String, state: String, why: String?)
        case call(CallError)
        /// No answer within the gateway's limit; the call itself may still finish.
        case timedOut(ms: Int)
        /// An anonymous call to a method the manifest does not list under `[methods] public`.
        case notPublic(app: String, method: String)
        /// The audit log cannot be written, so nothing that it would have to record runs.
        case auditUnavailable(String)
        /// The data directory's file system is below the node's reserve.
        case insufficientStorage(String)
    }

    /// Calls `method` of `app`, waiting in the app's bounded queue if its instances are busy, for at most
    /// `timeoutMs` (nil: as long as the app's own call timeout allows). An anonymous caller (empty `caller`)
    /// reaches only the manifest's public methods.
    public func call(app: String, method: String, caller: [UInt8], body: [UInt8], tag: String,
                     timeoutMs: Int? = nil) async throws(CallFailure) -> CallReply {
        let result: Result<CallReply, CallFailure> = await withCheckedContinuation { continuation in
            submit(app: app, method: method, caller: caller, body: body, tag: tag, timeoutMs: timeoutMs) {
                continuation.resume(returning: $0)
            }
        }
        return try result.get()
    }

    /// `call` without a task: `complete` runs exactly once, on an instance thread, a deadline thread, or at once
    /// when the call is refused.
    public func submit(app: String, method: String, caller: [UInt8], body: [UInt8], tag: String, timeoutMs: Int? = nil,
                       complete: @escaping @Sendable (Result<CallReply, CallFailure>) -> Void) {
        // Fail closed: nothing runs that the audit log could not record.
        if let refusal = auditRefusal() { return complete(.failure(.auditUnavailable(refusal))) }
        // One lock for every check, copying out only the supervisor: this runs for every request.
        let admitted: Result<AppSupervisor, CallFailure> = lock.withLock {
            guard let entry = entries[app] else { return .failure(.unknownApp(app)) }
            if caller.isEmpty && !entry.manifest.publicMethods.contains(method) {
                return .failure(.notPublic(app: app, method: method))
            }
            guard !stopped else { return .failure(.notRunning(app: app, state: "stopping", why: "the node is shutting down")) }
            if let lowDisk { return .failure(.insufficientStorage(lowDisk)) }
            guard node.apps[app]?.enabled ?? true else {
                return .failure(.notRunning(app: app, state: "disabled", why: "node.toml apps.\(app).enabled = false"))
            }
            guard let supervisor = entry.supervisor else {
                return .failure(.notRunning(app: app, state: entry.problem == nil ? "disabled" : "failed", why: entry.problem))
            }
            inFlight += 1
            return .success(supervisor)
        }
        let supervisor: AppSupervisor
        switch admitted {
        case .success(let s): supervisor = s
        case .failure(let refusal): return complete(.failure(refusal))
        }
        let once = ResumeOnce(complete)
        let deadline = timeoutMs.map { ms in deadlines.add(afterMs: ms) { once.resume(.failure(.timedOut(ms: ms))) } }
        supervisor.submit(method: method, caller: caller, body: body, tag: tag) { [self] result in
            // The call is over for the drain count when the worker answers, even after a timeout.
            lock.withLock { inFlight -= 1 }
            if let deadline { deadlines.cancel(deadline) }
            once.resume(result.mapError { error in
                error.code == .unavailable
                    ? .notRunning(app: app, state: supervisor.state.rawValue, why: supervisor.failureReason)
                    : .call(error)
            })
        }
    }

    // MARK: - Status and management

    /// Every app, in manifest order.
    public func apps() -> [AppStatus] {
        lock.withLock { order.compactMap { id in entries[id].map { status($0, enabled: node.apps[id]?.enabled ?? true) } } }
    }

    /// One app, or nil.
    /// Whether the node has an app `id` (enabled or not): one dictionary lookup, for every request.
    public func hasApp(_ id: String) -> Bool { lock.withLock { entries[id] != nil } }

    public func app(_ id: String) -> AppStatus? {
        lock.withLock { entries[id].map { status($0, enabled: node.apps[id]?.enabled ?? true) } }
    }

    private func status(_ e: AppEntry, enabled: Bool) -> AppStatus {
        let state: String
        if e.problem != nil {
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

    /// Enables or disables `app`: persisted in node.toml (`apps.<id>.enabled`), applied now, and audited.
    @discardableResult
    public func setEnabled(_ enabled: Bool, app: String, actor: String, tag: String = "") throws(NodeError) -> AppStatus {
        guard lock.withLock({ entries[app] }) != nil else { throw NodeError(.unknownApp, "no app '\(app)' on this node") }
        // Only this key takes effect now: other edits to node.toml (grants, owners, limits) wait for a restart,
        // as documented, rather than half-apply.
        _ = try NodeTomlEditor.setEnabled(enabled, app: app, path: layout.nodeToml)
        lock.withLock { node.apps[app, default: NodeConfig.App()].enabled = enabled }
        var problem: String?
        if enabled {
            problem = startApp(app)
        } else {
            lock.withLock { entries[app]?.supervisor }?.stop()
        }
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
        guard let entry = lock.withLock({ entries[app] }) else { throw NodeError(.unknownApp, "no app '\(app)' on this node") }
        let reloaded: NodeConfig
        do { reloaded = try NodeConfig.load(path: layout.nodeToml) } catch {
            throw NodeError(.config, "node.toml does not load, so '\(app)' keeps running as it was: \(error)")
        }
        guard reloaded.apps[app]?.enabled != false else {
            throw NodeError(.appLoad, "app '\(app)' is disabled (node.toml apps.\(app).enabled); enable it first")
        }
        if let supervisor = entry.supervisor {
            supervisor.stop()
            for _ in 0..<500 where supervisor.hasLiveThreads { usleep(10_000) }
        }
        // This app's section as it is now; the node's other settings stay as loaded.
        let fresh: NodeConfig = lock.withLock {
            node.apps[app] = reloaded.apps[app]
            return node
        }
        var prepared = preparedEntry(entry.manifest, config: fresh)
        lock.withLock {
            prepared.earlier = entries[app].map { e in e.supervisor.map { e.earlier.adding($0.footprint) } ?? e.earlier } ?? AppFootprint()
            entries[app] = prepared
        }
        let problem = prepared.problem ?? startApp(app)
        let profileName = lock.withLock { entries[app]?.profile?.name } ?? "?"
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
        let running = lock.withLock { order.compactMap { id in entries[id].flatMap { e in e.supervisor.map { (id, $0, e.earlier) } } } }
        return running.map { ($0.0, broker.complete($0.1.footprint.adding($0.2), of: $0.0)) }
    }

    private func writeStats() {
        StatsFile.write(footprints().map { ($0.app, $0.footprint) }, toDirectory: layout.data)
        // After a burst of connections the allocator keeps the freed memory; hand it back while idle.
        if lock.withLock({ inFlight }) == 0 { _ = csyn_malloc_trim() }
    }

    private func applyRetention() {
        let node = config
        let cutoff = EventStore.wallNs() - Int64(node.eventRetentionDays) * 86_400 * 1_000_000_000
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
