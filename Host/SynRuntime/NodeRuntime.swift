import CSynSys
import Dispatch
import Foundation
public import Logging
public import SynBroker
public import SynConfig
import SynSandbox
import SynSodium
import SynSystem
import SynWire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The node: every app in the manifests directory under its profile and grants, the broker, the event dispatcher,
/// and the owner's management actions (enable, disable, restart, add), each audited. The gateway and the CLI
/// drive it. What changes after start lives in `state`, behind its lock.
public final class NodeRuntime: Sendable {
    public let layout: NodeLayout
    public let broker: Broker
    public let logger: Logger
    let dispatcher: EventDispatcher
    let logRing = AppLogRing()
    /// Ephemeral messages on their way to subscribers.
    let topics = TopicHub()
    /// Open client streams and the notices on their way to them.
    public let streams = ClientStreams()
    let state: Mutex<State>
    /// The housekeeping thread's stop request and whether it still runs.
    let housekeeping = Monitor(Housekeeping())

    /// What changes while the node runs.
    struct State {
        /// node.toml as loaded; `apps restart` and `apps add` replace one app's section.
        var node: NodeConfig
        var entries: [String: AppEntry] = [:]
        /// App ids in manifest order (then added apps).
        var order: [String] = []
        /// Calls handed to a supervisor and not yet answered by it.
        var inFlight = 0
        var stopped = false
        /// An install, rollback or backup is under way (one at a time).
        var installing = false
        /// A scheduled backup's thread is running.
        var backupRunning = false
        /// Apps moved to another node (`apps export --moved-to`), by id: the node they went to.
        var moved: [String: String] = [:]
        /// Apps on their way to another node (`apps migrate`), by id: stopped here, calls get 503 until the move ends.
        var moving: [String: String] = [:]
        /// `backup.json` as last read or written (health and metrics ask it on every request).
        var backupRecord = BackupRecord()
        /// Why app calls are refused for lack of disk space (free space below node.toml `node.reserve_mb`), or nil.
        var lowDisk: String?
        /// Told when apps were enabled, disabled, restarted or added (their topic subscriptions may have changed).
        var appsChanged: @Sendable () -> Void = {}

        /// Whether `app` runs here: node.toml enables it, and it is not on its way to another node.
        func isEnabled(_ app: String) -> Bool { (node.apps[app]?.enabled ?? true) && moving[app] == nil }
    }

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
    public var config: NodeConfig { state.withLock { $0.node } }

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
        // What an install or backup that died left in <data>/tmp (nothing else uses it while this node holds the lock).
        try? FileManager.default.removeItem(atPath: layout.data + "/tmp")
        var manifests: [AppManifest] = []
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: layout.manifests)) ?? []).filter { $0.hasSuffix(".toml") }.sorted()
        for file in files {
            let path = (layout.manifests as NSString).appendingPathComponent(file)
            do { manifests.append(try AppManifest.load(path: path)) } catch {
                logger.error("skipping manifest", metadata: ["file": "\(path)", "error": "\(error)"])
            }
        }
        // Apps installed from packages run the version their package holds, whatever the manifests directory says.
        var failedInstalls: [String: String] = [:]
        for installed in Self.installedApps(data: layout.data) {
            manifests.removeAll { $0.id == installed.id }
            if let manifest = installed.manifest {
                manifests.append(manifest)
            } else {
                failedInstalls[installed.id] = installed.problem ?? "its installed package cannot be read"
                logger.error("installed app cannot run", metadata: ["app": "\(installed.id)", "error": "\(installed.problem ?? "")"])
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
        let node: NodeConfig
        do { node = try NodeConfig.load(path: layout.nodeToml) } catch { throw NodeError(.config, "\(error)") }
        do { broker = try Broker(dataDirectory: layout.data, node: node, lock: directoryLock) } catch { throw NodeError(.storage, error.message) }
        dispatcher = EventDispatcher(store: broker.events)
        var initial = State(node: node)
        initial.backupRecord = BackupRecord.load(data: layout.data)
        initial.moved = Self.movedApps(data: layout.data)
        initial.moving = Self.movingApps(data: layout.data)
        state = Mutex(initial)
        var order: [String] = []
        for manifest in manifests where !order.contains(manifest.id) {
            let entry = preparedEntry(manifest, config: node)
            state.withLock { $0.entries[manifest.id] = entry }
            order.append(manifest.id)
        }
        for (id, problem) in failedInstalls.sorted(by: { $0.key < $1.key }) where !order.contains(id) {
            var entry = AppEntry(manifest: AppManifest(id: id, name: id, version: "?", library: "?"))
            entry.problem = problem
            state.withLock { $0.entries[id] = entry }
            order.append(id)
        }
        state.withLock { $0.order = order }
        let dispatcher = self.dispatcher
        broker.onCommit = { dispatcher.notify() }
        let streams = self.streams
        broker.onNotices = { app, notices in streams.deliver(app: app, notices) }
        broker.listeners = { app in streams.people(app: app) }
        broker.appCaller = { [weak self] call in
            self?.runAppCall(call) ?? .failed(status: SynStatus.unsupported, message: "the node is shutting down")
        }
        if firstStart {
            broker.audit.append(actor: "node", app: "", action: "config.create", decision: "ok",
                                cause: "wrote \(layout.nodeToml) granting the manifests' requests to \(order.joined(separator: ", "))")
        }
        let digest = (try? FileDigest.sha256Hex(path: layout.nodeToml)) ?? "unreadable"
        broker.audit.append(actor: "node", app: "", action: "node.start", decision: "ok",
                            cause: "apps \(manifests.map { "\($0.id) \($0.version)" }.joined(separator: ", ")); node.toml sha256 \(digest)")
    }

    // MARK: - Lifecycle

    /// Starts every enabled app, event delivery and the housekeeping thread.
    public func start() {
        for id in state.withLock({ s in s.order.filter { s.isEnabled($0) } }) { _ = startApp(id) }
        startHousekeeping()
    }

    /// Starts (or restarts after a stop) app `id`'s supervisor; the problem if it cannot run.
    func startApp(_ id: String) -> String? {
        guard let (entry, node) = state.withLock({ s in s.entries[id].map { ($0, s.node) } }) else { return "unknown app '\(id)'" }
        if let problem = entry.problem { return problem }
        guard let spec = entry.spec, let profile = entry.profile else { return "app '\(id)' has no worker spec" }
        if let existing = entry.supervisor {
            existing.start()
            return nil
        }
        let broker = self.broker, logger = self.logger, ring = self.logRing
        let budget = LogBudget(perSecond: node.apps[id]?.logLinesPerSecond ?? NodeConfig.App().logLinesPerSecond)
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
        let policy = Policy(manifest: entry.manifest, node: node)
        state.withLock {
            $0.entries[id]?.supervisor = supervisor
            $0.entries[id]?.attached = true
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
        let already: Bool = state.withLock { s in
            defer { s.stopped = true }
            return s.stopped
        }
        guard !already else { return }
        let deadline = MonotonicClock.nowNs() + Int64(max(drainSeconds, 0)) * 1_000_000_000
        while state.withLock({ $0.inFlight }) > 0 && MonotonicClock.nowNs() < deadline { usleep(5_000) }
        // An install, rollback or backup under way sees `stopped` and ends (a backup at its next step); it finishes
        // before the apps and databases close, for at most 30 s.
        let settle = MonotonicClock.nowNs() + 30_000_000_000
        while state.withLock({ $0.installing }) && MonotonicClock.nowNs() < settle { usleep(10_000) }
        let abandoned = state.withLock { $0.inFlight }
        streams.finishAll(app: nil, .nodeStopping)
        stopHousekeeping()
        dispatcher.stop()
        let supervisors = state.withLock { $0.entries.values.compactMap(\.supervisor) }
        for s in supervisors { s.stop() }
        for _ in 0..<500 where supervisors.contains(where: { $0.state != .stopped || $0.hasLiveThreads }) { usleep(10_000) }
        writeStats()
        broker.audit.append(actor: "node", app: "", action: "node.stop", decision: "ok",
                            cause: reason + (abandoned > 0 ? "; \(abandoned) call(s) still running after \(drainSeconds) s were stopped" : ""))
        broker.close()
        logger.notice("node stopped", metadata: ["reason": "\(reason)"])
    }
}
