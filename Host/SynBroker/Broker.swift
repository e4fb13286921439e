public import SynConfig
public import SynSandbox
import PluginABI
import SynAppStore
public import SynSodium
import SynSQLite
import SynText
public import SynWire
import Synchronization
import SynSystem
#if canImport(Glibc)
import Glibc
#endif

/// The capability broker: runs the host functions an app calls, after checking its effective grants
/// (manifest ∩ node.toml). Identity is the app's own ed25519 key, which never leaves the host. Storage is the
/// app's own SQLite database, which the host creates and hands to the app's worker as open files: the worker runs
/// the app's SQL, one transaction per call, and the host never does.
///
/// Data directory layout: `node.key`, `node.toml`, `apps/<id>/app.key`, `apps/<id>/app.db`.
public final class Broker: HostCallHandler, Sendable {
    public let dataDirectory: String
    /// This process's hold on the data directory, released by `close()`.
    public let directoryLock: DataDirectoryLock
    /// The node's public key (its secret stays in this process).
    public let nodePublicKey: [UInt8]
    /// The node's key, for this process's own use (its TLS handshakes); the secret stays in guarded memory.
    public let nodeKey: SigningKey
    /// The node's audit log (`node.db`): denials here, app lifecycle from the supervisor.
    public let audit: AuditLog
    /// The node's event log and timers (`node.db`).
    public let events: EventStore
    /// Called after a request's events or timers were committed (the dispatcher wakes up).
    public var onCommit: @Sendable () -> Void {
        get { state.withLock { st in st.commitHook } }
        set { state.withLock { st in st.commitHook = newValue } }
    }
    /// Called after a request's messages to peers were committed, with those peers (their links send them).
    public var onNetCommit: @Sendable (Set<String>) -> Void {
        get { state.withLock { st in st.netCommitHook } }
        set { state.withLock { st in st.netCommitHook = newValue } }
    }
    /// Called for each `msg_publish` an app makes (the node delivers it to local and remote subscribers).
    public var onPublish: @Sendable (_ app: String, _ topic: String, _ payload: [UInt8]) -> Void {
        get { state.withLock { st in st.publishHook } }
        set { state.withLock { st in st.publishHook = newValue } }
    }
    /// Called with the client notices a call committed (or a granted `msg_publish` on a `client.` topic): each
    /// person's raw public key and the payload (UTF-8 text). The node passes them to that person's open streams of
    /// the app; they never reach other apps or peers.
    public var onNotices: @Sendable (_ app: String, _ notices: [(person: [UInt8], payload: [UInt8])]) -> Void {
        get { state.withLock { st in st.noticesHook } }
        set { state.withLock { st in st.noticesHook = newValue } }
    }
    /// The people with a stream of the app open now (raw keys), for the worker to send notices to them alone.
    public var listeners: @Sendable (_ app: String) -> [[UInt8]] {
        get { state.withLock { st in st.listenersHook } }
        set { state.withLock { st in st.listenersHook = newValue } }
    }
    /// Ephemeral messages one app may publish a second (bursts of twice that); past it `msg_publish` answers
    /// SYN_E_QUOTA, so no app floods the node's subscribers or its peers.
    static let maxPublishesPerSecond = 500
    /// Makes `net_request`s (the node's HTTP client); nil: the slot answers SYN_E_UNSUPPORTED.
    public var fetcher: (@Sendable (FetchCall) -> FetchOutcome)? {
        get { state.withLock { st in st.fetchHook } }
        set { state.withLock { st in st.fetchHook = newValue } }
    }
    /// Runs an app's call to another app (`app_call`) and waits for its answer; set by the node runtime. Nil: the
    /// slot answers SYN_E_UNSUPPORTED.
    public var appCaller: (@Sendable (AppCall) -> AppCallOutcome)? {
        get { state.withLock { st in st.appCallHook } }
        set { state.withLock { st in st.appCallHook = newValue } }
    }
    /// Signed app calls seen lately (replay protection), and when this broker started (Unix seconds): calls signed
    /// before it are refused, since the guard does not outlive the process.
    let callReplays = CallReplayGuard()
    public let startedSeconds = WallClock.nowNs() / 1_000_000_000

    /// How long before the calling call's deadline the target must answer, so the caller can still use it.
    static let appCallMarginNs: Int64 = 200_000_000
    /// Calls to other apps one call may make: each is audited, so an app looping on `app_call` would otherwise
    /// write the audit log as fast as the target answers.
    static let maxAppCallsPerCall = 32
    /// The most apps one chain of `app_call` may hold (`SYN_APP_CALL_MAX_DEPTH`).
    static let maxCallDepth = Int(SYN_APP_CALL_MAX_DEPTH)
    /// `net_request` methods, and the default and longest waits.
    static let fetchMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    static let defaultFetchTimeoutMs: UInt32 = 10_000
    static let maxFetchTimeoutMs: UInt32 = 60_000
    /// Whether a node id is one of the owner's peers (`syneroym peers add`); set when the node has links.
    public var isPeer: @Sendable (String) -> Bool {
        get { state.withLock { st in st.peerCheck } }
        set { state.withLock { st in st.peerCheck = newValue } }
    }
    static let maxAuditedDenials = 10
    /// The largest `net_send` payload.
    static let maxNetPayload = 64 * 1024
    static let maxEventPayload = 64 * 1024
    /// What one request may emit; the events and timers themselves wait in the app's outbox, in its database.
    static let maxOutboxItems = 1000
    static let maxOutboxBytes = 1 << 20
    /// Timers one app may have pending at once.
    static let maxPendingTimers = 10_000
    static let maxTimerDelayMs = UInt64(SYN_TIMER_MAX_DELAY_MS)
    /// A worker hands over at most `maxOutboxRowsPerCall` rows per call, twice what one call may emit, so a backlog
    /// drains and a worker that forges rows stores no more than an honest one.
    static let maxOutboxRowsPerCall = 2 * maxOutboxItems
    static let maxOutboxBytesPerCall = 2 * maxOutboxBytes
    static let maxOutboxCallsPerCall = 16

    let node: NodeConfig
    let state = Mutex(State())

    /// What changes as apps are registered and requests run.
    struct State {
        var apps: [String: AppState] = [:]
        var commitHook: @Sendable () -> Void = {}
        var netCommitHook: @Sendable (Set<String>) -> Void = { _ in }
        var peerCheck: @Sendable (String) -> Bool = { _ in false }
        var publishHook: @Sendable (String, String, [UInt8]) -> Void = { _, _, _ in }
        var noticesHook: @Sendable (String, [(person: [UInt8], payload: [UInt8])]) -> Void = { _, _ in }
        var listenersHook: @Sendable (String) -> [[UInt8]] = { _ in [] }
        var fetchHook: (@Sendable (FetchCall) -> FetchOutcome)?
        var appCallHook: (@Sendable (AppCall) -> AppCallOutcome)?
        /// Each app's `msg_publish` budget: tokens and when they were counted (`MonotonicClock`).
        var publishBudget: [String: TokenBucket] = [:]
        /// Each app's client-notice budget (`maxNoticesPerSecond`), whichever way the notices came.
        var noticeBudget: [String: TokenBucket] = [:]
        /// Each app's `app_call` budget, the same way.
        var appCallBudget: [String: TokenBucket] = [:]
        /// Denials and committed events per app.
        var counters: [String: (denials: Int, events: Int)] = [:]
        /// Denials per request in flight: the first `maxAuditedDenials` are audited one by one, the rest summed up.
        var requestDenials: [UInt64: Int] = [:]
        /// What each request in flight has emitted so far: events and timers, and their bytes.
        var emitted: [UInt64: (items: Int, timers: Int, bytes: Int)] = [:]
        /// Calls to other apps each request in flight has made.
        var appCalls: [UInt64: Int] = [:]
        /// What each request in flight has handed over from its outbox: hand-overs, rows and bytes.
        var handedOver: [UInt64: (calls: Int, rows: Int, bytes: Int)] = [:]
        /// Who recent calls that emitted acted for, so outbox rows are attributed by the host, not by the app.
        var callers = RecentCallers(capacity: 4096)
    }
    /// Largest message the broker accepts from an app.
    static let maxValue = 1 << 20

    struct AppState {
        let policy: Policy
        let key: SigningKey
        /// The app's database, when it may use storage.
        let storage: WorkerStorage?
    }

    /// Opens (creating) the data directory and the node key. Refuses a key file readable by others.
    /// Opens the node's data directory under `lock` (taken here when nil); `close()` releases it.
    public init(dataDirectory: String, node: NodeConfig, lock directoryLock: DataDirectoryLock? = nil) throws(BrokerError) {
        self.dataDirectory = dataDirectory
        self.node = node
        try Self.makeDirectory(dataDirectory)
        if let directoryLock { self.directoryLock = directoryLock } else {
            self.directoryLock = try DataDirectoryLock(directory: dataDirectory)
        }
        try Self.makeDirectory(dataDirectory + "/apps")
        let nodeKey: SigningKey
        do {
            try Sodium.initialize()
            nodeKey = try KeyFile.loadOrCreate(path: dataDirectory + "/node.key").key
        } catch { throw BrokerError(.identity, "node key: \(error.message)") }
        nodePublicKey = nodeKey.publicKey
        self.nodeKey = nodeKey
        audit = try AuditLog(path: dataDirectory + "/node.db", headPath: dataDirectory + "/audit.head") { nodeKey.sign(domain: .node, $0) }
        events = try EventStore(path: dataDirectory + "/node.db")
    }

    /// Makes `manifest`'s app known: its directory, key and, when it may use storage, its database files (a fresh
    /// database if it has none; an existing one is never opened here: the app wrote it).
    /// `reloaded` is node.toml as read again (`apps restart`, `apps add`): the app's grants and quotas come from it.
    public func register(_ manifest: AppManifest, reloaded: NodeConfig? = nil) throws(BrokerError) {
        let node = reloaded ?? self.node
        let dir = dataDirectory + "/apps/" + manifest.id
        try Self.makeDirectory(dir)
        let key: SigningKey
        do { key = try KeyFile.loadOrCreate(path: dir + "/app.key").key } catch {
            throw BrokerError(.identity, "app key of '\(manifest.id)': \(error.message)")
        }
        let policy = Policy(manifest: manifest, node: node)
        let kv = policy.denial(.storageKV) == nil, sql = policy.denial(.storageSQL) == nil
        var storage: WorkerStorage?
        if policy.hasDatabase {
            do throws(StoreFailure) { try AppStoreFiles.prepare(directory: dir) } catch {
                throw BrokerError(.storage, "the database of '\(manifest.id)': \(error.message)")
            }
            let quota = UInt64(node.apps[manifest.id]?.storageQuotaMB ?? 64) << 20
            storage = WorkerStorage(directory: dir, quotaBytes: quota, kv: kv, sql: sql)
        }
        state.withLock { st in
            // The same channel across the app's re-registrations (a restart): workers still running hold it. Taken
            // and kept in one lock, so two registrations at once cannot make two.
            if storage != nil { storage?.backupChannel = st.apps[manifest.id]?.storage?.backupChannel ?? BackupChannel() }
            st.apps[manifest.id] = AppState(policy: policy, key: key, storage: storage)
        }
        let settings = node.apps[manifest.id] ?? NodeConfig.App()
        events.setQuota(.init(eventBytes: Int64(settings.eventsQuotaMB) << 20, timerBytes: Int64(settings.timersQuotaMB) << 20,
                              eventsKey: "apps.\(manifest.id).events_quota_mb", timersKey: "apps.\(manifest.id).timers_quota_mb",
                              netBytes: Int64(settings.outboxQuotaMB) << 20, netKey: "apps.\(manifest.id).outbox_quota_mb"),
                        for: manifest.id)
    }

    /// The app's database files and grants, and the node's cursor of its outbox, for its workers.
    public func storage(for app: String) -> WorkerStorage? {
        guard var storage = state.withLock({ st in st.apps[app]?.storage }) else { return nil }
        if let cursor = events.outboxCursor(app: app) {
            storage.cursorEpoch = cursor.epoch
            storage.cursorSeq = cursor.seq
        }
        return storage
    }

    /// Adds the broker's share of an app's footprint: denials, committed events and its database's size.
    public func complete(_ footprint: AppFootprint, of app: String) -> AppFootprint {
        var f = footprint
        let c = state.withLock { st in st.counters[app] ?? (0, 0) }
        f.denials = c.denials
        f.eventsEmitted = c.events
        // Sizes from the file system: the host does not open a database the app wrote.
        let dir = dataDirectory + "/apps/" + app + "/"
        f.storageBytes = AppStoreFiles.names.prefix(3).reduce(Int64(0)) { total, name in
            var st = stat()
            return total + (lstat(dir + name, &st) == 0 ? Int64(st.st_size) : 0)
        }
        return f
    }

    /// Closes the event log and the audit log (after a last signed checkpoint). For the node's shutdown, once the
    /// workers are stopped.
    /// Closes the node's databases, then lets the data directory go.
    public func close() {
        events.close()
        audit.close()
        directoryLock.release()
    }

    /// The app's public key, if registered.
    public func publicKey(of app: String) -> [UInt8]? { state.withLock { st in st.apps[app]?.key.publicKey } }

    // MARK: - HostCallHandler

    public func hostCall(_ context: HostCallContext, op: HostOp, payload: [UInt8]) -> (status: Int32, payload: [UInt8]) {
        guard let app = state.withLock({ st in st.apps[context.app] }) else {
            return (SynStatus.internalError, Array("the broker does not know app '\(context.app)'".utf8))
        }
        do {
            var reader = WireReader(payload)
            return (SynStatus.ok, try run(op, app, context, &reader))
        } catch {
            let failure = answer(error, op, context)
            return (failure.status, Array(failure.message.utf8))
        }
    }

    /// Audits a denial or refusal of request `context`: the first `maxAuditedDenials` one by one, the rest summed
    /// up when the call ends.
    func auditDenial(_ context: HostCallContext, action: String, decision: String, cause: String) {
        let nth: Int = state.withLock { st in
            st.counters[context.app, default: (0, 0)].denials += 1
            st.requestDenials[context.requestID, default: 0] += 1
            return st.requestDenials[context.requestID] ?? 0
        }
        if nth <= Self.maxAuditedDenials {
            audit.append(actor: Self.actor(context.caller), app: context.app, action: action, decision: decision,
                         cause: cause + Self.requestSuffix(context))
        }
    }

    /// A slot's failure as the app sees it; policy denials and authorizer refusals are audited (a signature that
    /// fails to verify is an answer, not a denial).
    private func answer(_ error: any Error, _ op: HostOp, _ context: HostCallContext) -> BrokerFailure {
        guard let failure = error as? BrokerFailure else {
            return BrokerFailure(SynStatus.badArg, "\(op.slotName): malformed arguments")
        }
        if failure.status == SynStatus.denied && op != .idVerify {
            auditDenial(context, action: op.slotName, decision: "denied", cause: failure.message)
        }
        return failure
    }

    public func endCall(_ context: HostCallContext, commit: Bool) -> HostCallFailure? {
        let denials = state.withLock { st in st.requestDenials.removeValue(forKey: context.requestID) ?? 0 }
        if denials > Self.maxAuditedDenials {
            audit.append(actor: Self.actor(context.caller), app: context.app, action: "denials", decision: "denied",
                         cause: "\(denials - Self.maxAuditedDenials) more denials in this request not itemised" + Self.requestSuffix(context))
        }
        state.withLock { st in
            st.emitted.removeValue(forKey: context.requestID)
            st.handedOver.removeValue(forKey: context.requestID)
            st.appCalls.removeValue(forKey: context.requestID)
        }
        return nil
    }

    // MARK: - Slots

    private func run(_ op: HostOp, _ app: AppState, _ context: HostCallContext, _ r: inout WireReader) throws -> [UInt8] {
        let id = context.requestID
        var w = WireWriter()
        switch op {
        case .idPublicKey:
            try require(app, .identitySign, op)
            w.data(app.key.publicKey)
        case .idSign:
            try require(app, .identitySign, op)
            w.data(app.key.sign(domain: .app(context.app), try r.data(limit: Self.maxValue)))
        case .idVerify:
            // Verifying needs no secret: every app may check signatures made in its own domain.
            let key = try raw(&r, 32), signature = try raw(&r, 64)
            let message = try r.data(limit: Self.maxValue)
            guard Ed25519.verify(publicKey: key, domain: .app(context.app), message: message, signature: signature) else {
                throw BrokerFailure(SynStatus.denied, "id_verify: the signature does not verify")
            }
        case .kvGet, .kvPut, .kvDelete, .kvScan:
            try require(app, .storageKV, op)
            throw Self.servedByWorker(op)
        case .sqlExec, .sqlQuery:
            try require(app, .storageSQL, op)
            throw Self.servedByWorker(op)
        case .eventEmit:
            let typeBytes = try r.data(limit: 128), payload = try r.data(limit: Self.maxEventPayload)
            let type = try Self.eventType(typeBytes)
            try require(app, .eventsPublish(type: type), op)
            guard payload.isEmpty || JSONScan.isJSON(payload) else {
                throw BrokerFailure(SynStatus.badArg, "event_emit: payload_json is not valid JSON")
            }
            try reserveOutbox(id, bytes: payload.count + type.utf8.count, timer: false, slot: op.slotName)
            // The node's log must have room for this call's events so far (its rows reach the node after commit).
            let actor = Self.actor(context.caller)
            let pendingBytes = state.withLock { st in st.emitted[id].map { Int64($0.bytes) + Int64($0.items) * 64 } ?? 0 }
            if let full = events.admitEvent(context.app, bytes: pendingBytes + Int64(actor.utf8.count)) {
                throw BrokerFailure(SynStatus.quota, "event_emit: " + full)
            }
            state.withLock { st in st.callers.record(context.app, id, actor) }
        case .timerSet:
            try require(app, .timers, op)
            let delay = try r.u64(), payload = try r.data(limit: Self.maxEventPayload)
            guard delay <= Self.maxTimerDelayMs else {
                throw BrokerFailure(SynStatus.badArg, "timer_set: the delay may be at most 30 days")
            }
            try reserveOutbox(id, bytes: payload.count, timer: true, slot: op.slotName)
            let buffered = state.withLock { st in st.emitted[id]?.timers ?? 0 }
            guard events.pendingTimerCount(for: context.app) + buffered <= Self.maxPendingTimers else {
                throw BrokerFailure(SynStatus.quota, "timer_set: app '\(context.app)' already has \(Self.maxPendingTimers) timers pending")
            }
            if let full = events.admitTimer(context.app, bytes: EventStore.timerBytes(payload: payload.count)) {
                throw BrokerFailure(SynStatus.quota, "timer_set: " + full)
            }
            state.withLock { st in st.callers.record(context.app, id, Self.actor(context.caller)) }
            w.u64(UInt64(Int64.random(in: 1...Int64.max)))
            w.u64(UInt64(bitPattern: WallClock.nowNs() + Int64(delay) * 1_000_000))
        case .outbox:
            w.u64(UInt64(bitPattern: try storeOutbox(app, context, OutboxBatch.decode(r.rest()))))
        case .listeners:
            try require(app, .messagesPublish(topic: ClientNotices.prefix + String(repeating: "0", count: 64)), op)
            let people = listeners(context.app).prefix(ClientNotices.maxListeners)
            w.u32(UInt32(people.count))
            for person in people { w.raw(person) }
        case .notices:
            let batch = try ClientNotices.decode(r.rest())
            let checked = try batch.notices.map { n throws(BrokerFailure) in try clientNotice(app, n.topic, n.payload, op) }
            try chargeNotices(context.app, checked.count)
            onNotices(context.app, checked)
        case .netSend:
            try require(app, .netPeers, op)
            let peerBytes = try r.data(limit: 64), payload = try r.data(limit: Self.maxNetPayload + 1)
            guard let peer = String(validating: peerBytes, as: UTF8.self), NameRules.isNodeID(peer) else {
                throw BrokerFailure(SynStatus.badArg, "net_send: the peer is a node id (43 base64url characters, as `syneroym peers list` shows it)")
            }
            guard payload.count <= Self.maxNetPayload else {
                throw BrokerFailure(SynStatus.tooLarge, "net_send: the payload is at most 64 KiB")
            }
            try require(app, .netPeer(peer), op)
            guard isPeer(peer) else {
                throw BrokerFailure(SynStatus.notFound, "net_send: node \(peer) is not a peer of this node (its owner adds it with `syneroym peers add`)")
            }
            try reserveOutbox(id, bytes: payload.count + EventStore.netRowBytes, timer: false, slot: op.slotName)
            let pendingBytes = state.withLock { st in st.emitted[id].map { Int64($0.bytes) } ?? 0 }
            if let full = events.admitNet(context.app, bytes: pendingBytes) {
                throw BrokerFailure(SynStatus.quota, "net_send: " + full)
            }
            state.withLock { st in st.callers.record(context.app, id, Self.actor(context.caller)) }
        case .msgPublish:
            let topicBytes = try r.data(limit: 257), payload = try r.data(limit: Self.maxNetPayload + 1)
            guard let topic = String(validating: topicBytes, as: UTF8.self), topic.utf8.count <= 256, Self.isEventType(topic) else {
                throw BrokerFailure(SynStatus.badArg, "msg_publish: the topic must be dot-separated segments of [a-z0-9_-], at most 256 bytes, e.g. \"chat.typing\"")
            }
            try require(app, .messagesPublish(topic: topic), op)
            guard payload.count <= Self.maxNetPayload else {
                throw BrokerFailure(SynStatus.tooLarge, "msg_publish: the payload is at most 64 KiB")
            }
            let admitted: Bool = state.withLock { st in
                let now = MonotonicClock.nowNs(), rate = Double(Self.maxPublishesPerSecond)
                return st.publishBudget[context.app, default: TokenBucket(burst: rate * 2, nowNs: now)]
                    .take(perSecond: rate, burst: rate * 2, nowNs: now)
            }
            guard admitted else {
                throw BrokerFailure(SynStatus.quota, "msg_publish: app '\(context.app)' publishes at most \(Self.maxPublishesPerSecond) messages a second")
            }
            // A client notice the worker did not queue (it does when granted): to the person's streams alone.
            if ClientNotices.isClientTopic(topicBytes) {
                let notice = try clientNotice(app, topicBytes, payload, op)
                try chargeNotices(context.app, 1)
                onNotices(context.app, [notice])
                break
            }
            // Sent now, whether or not the call commits: nothing about an ephemeral message is stored.
            onPublish(context.app, topic, payload)
        case .nodeID:
            // Public knowledge (peers and people name the node by it): no grant.
            w.data(Array(Base64URL.encode(nodePublicKey).utf8))
        case .appCall:
            let (status, body) = try appCall(app, context, &r)
            w.u32(status)
            w.data(body)
        case .netRequest:
            let methodBytes = try r.data(limit: 16), urlBytes = try r.data(limit: 4097)
            let headers = try r.data(limit: 16 * 1024 + 1), body = try r.data(limit: Self.maxValue + 1)
            let timeoutMs = try r.u32()
            guard let method = String(validating: methodBytes, as: UTF8.self), Self.fetchMethods.contains(method) else {
                throw BrokerFailure(SynStatus.badArg, "net_request: the method is one of \(Self.fetchMethods.sorted().joined(separator: ", "))")
            }
            guard let url = String(validating: urlBytes, as: UTF8.self), FetchURL(url) != nil else {
                throw BrokerFailure(SynStatus.badArg, "net_request: the URL must be https://host[:port]/path, without userinfo or a fragment, at most 4096 bytes")
            }
            guard headers.count <= 16 * 1024, body.count <= Self.maxValue else {
                throw BrokerFailure(SynStatus.tooLarge, "net_request: headers are at most 16 KiB and the body at most 1 MiB")
            }
            try require(app, .netFetch(url: url), op)
            guard let fetcher else {
                throw BrokerFailure(SynStatus.unsupported, "net_request: this node makes no outbound requests")
            }
            let wait = Int64(min(timeoutMs == 0 ? Self.defaultFetchTimeoutMs : timeoutMs, Self.maxFetchTimeoutMs)) * 1_000_000
            // The answer must come back before the call's own deadline, with time to use it.
            let deadline = min(MonotonicClock.nowNs() + wait, context.deadlineNs - 100_000_000)
            let policy = app.policy
            let call = FetchCall(app: context.app, method: method, url: url, headersJSON: headers, body: body, deadlineNs: deadline) { target in
                if let denial = policy.denial(.netFetch(url: target)) { return (denial, false) }
                return (nil, policy.namesAddress(of: target))
            }
            switch fetcher(call) {
            case .response(let status, let body):
                w.u32(UInt32(clamping: status))
                w.data(body)
            case .failed(let status, let message):
                throw BrokerFailure(status, "net_request: " + message)
            }
        }
        return w.bytes
    }

    /// A granted storage slot asked of the host: the worker runs storage itself, so only a worker that bypassed its
    /// own table sends one.
    static func servedByWorker(_ op: HostOp) -> BrokerFailure {
        BrokerFailure(SynStatus.unsupported, "\(op.slotName) is served inside the app's worker, on its own database; the host runs no app SQL")
    }

    /// ` [request <id>]` for a call the gateway tagged, so audit entries and logs line up.
    static func requestSuffix(_ context: HostCallContext) -> String { AuditLog.requestSuffix(context.tag) }

    /// Who an app's call acts for: the verified caller's base64url key, or `anonymous`.
    public static func actor(_ caller: [UInt8]) -> String {
        caller.isEmpty ? "anonymous" : Base64URL.encode(caller)
    }

    func require(_ app: AppState, _ capability: Policy.Capability, _ op: HostOp) throws(BrokerFailure) {
        if let denial = app.policy.denial(capability) {
            throw BrokerFailure(SynStatus.denied, "\(op.slotName) denied: \(denial)")
        }
    }

    private func raw(_ r: inout WireReader, _ n: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        for _ in 0..<n { out.append(try r.u8()) }
        return out
    }

    private static func makeDirectory(_ path: String) throws(BrokerError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw BrokerError(.dataDirectory, "cannot create \(path): errno \(errno)")
        }
    }
}
