public import NIOCore
public import Logging
import NIOPosix
public import SynBroker
public import SynConfig
import SynLink
public import SynSodium
import SynSystem
public import SynTLS
import Synchronization

/// The node's links with other nodes: a listener on `[federation] listen` that accepts the added peers (and the
/// node ids `accept` names), a dialer per added peer that reconnects with backoff and jitter, and one link per
/// peer. When both nodes dial each other, the link dialled by the node with the smaller id stays; a node that dials
/// again replaces its own earlier link. Link up, link down and refused nodes are audited.
public final class LinkService: Sendable {
    /// The node's TLS identity, made on first use (a node that never links does not build one).
    private let identityCache: Mutex<TLSIdentity?>
    private let makeIdentity: @Sendable () throws(TLSError) -> TLSIdentity
    let nodeID: String
    public let settings: FederationSettings
    public let peers: PeerStore
    public let witnesses: WitnessStore
    private let head: @Sendable () -> AuditHead?
    private let auditSink: @Sendable (_ action: String, _ app: String, _ cause: String) -> Void
    private let group: any EventLoopGroup
    /// Where the apps' committed messages for peers wait (`node.db`); nil: this node sends none.
    let outbox: EventStore?
    /// Hands the peers' messages to this node's apps; nil: this node takes none.
    let receiver: MessageReceiver?
    let inbox: (any PeerInbox)?
    /// This node's ephemeral-topic subscribers; nil: it takes no publications from peers.
    let topics: (any TopicSubscribers)?
    let pingInterval: TimeAmount
    /// Where link trouble is logged (the audit log has the events that matter to the owner's record).
    public var logger: Logger {
        get { logHandle.withLock { $0 } }
        set { logHandle.withLock { $0 = newValue } }
    }
    private let logHandle = Mutex(Logger(label: "syneroym.links"))
    var maxFrame: Int { settings.maxFrameKB * 1024 }
    var window: Int { settings.window }
    var maxFramesPerSecond: Int { settings.maxFramesPerSecond }
    /// Bytes a second this node sends apps at (`[migration] max_send_kb_per_s`); 0: no cap.
    public var transferPace: Int {
        get { paceHandle.withLock { $0 } }
        set { paceHandle.withLock { $0 = newValue } }
    }
    private let paceHandle = Mutex(0)

    struct State {
        var links: [String: (channel: any Channel, outbound: Bool)] = [:]
        var states: [String: LinkState] = [:]
        var dialing: Set<String> = []
        var listener: (any Channel)?
        var stopped = false
        /// Accepted connections whose TLS handshake has not ended.
        var handshaking = 0
        /// When each peer's current link was established (`MonotonicClock`).
        var upSince: [String: Int64] = [:]
        /// Refusals not audited one by one (past `refusalsPerMinute`), and the minute being counted.
        var refusals = (minute: Int64(0), audited: 0, suppressed: 0)
        /// The highest message sequence sent to each peer per app, on any link: sending one again is a retry.
        var highestSent: [String: [String: UInt64]] = [:]
        /// `heldHeads` calls waiting for their answers, by nonce.
        var queries: [UInt64: HeadQuery] = [:]
        /// The topic patterns each linked peer's apps subscribed to (its `subscribe` frames).
        var remoteTopics: [String: Set<String>] = [:]
        /// This node's apps on their way to peers, by transfer id.
        var outgoing: [UInt64: OutgoingState] = [:]
        /// Peers' transfers being written here ("peer/id"), by the link writing them, or being installed.
        var incoming: [String: IncomingClaim] = [:]
        var transferSink: (any AppTransfers)?
        /// Bytes the sending pace (`[migration] max_send_kb_per_s`) allows now, and when that was reckoned.
        var pace: (tokens: Double, atNs: Int64) = (0, 0)
    }

    /// Connections in their TLS handshake at once: each holds a socket and a session and costs a key exchange.
    static let maxHandshakes = 64
    /// Refused nodes audited one by one per minute; past it they are counted, and the next entry says how many.
    static let refusalsPerMinute = 10

    let state = Mutex(State())

    /// A link service for the node whose key is `key`; its TLS identity is made when a link first needs it.
    public convenience init(key: SigningKey, settings: FederationSettings, peers: PeerStore, witnesses: WitnessStore,
                            group: any EventLoopGroup, pingInterval: TimeAmount = .seconds(15),
                            outbox: EventStore? = nil, inbox: (any PeerInbox)? = nil, topics: (any TopicSubscribers)? = nil,
                            head: @escaping @Sendable () -> AuditHead?,
                            audit: @escaping @Sendable (_ action: String, _ peer: String, _ cause: String) -> Void) {
        self.init(publicKey: key.publicKey, identity: { () throws(TLSError) in try TLSIdentity(key: key) }, settings: settings,
                  peers: peers, witnesses: witnesses, group: group, pingInterval: pingInterval, outbox: outbox, inbox: inbox,
                  topics: topics, head: head, audit: audit)
    }

    public convenience init(identity: TLSIdentity, settings: FederationSettings, peers: PeerStore, witnesses: WitnessStore,
                            group: any EventLoopGroup, pingInterval: TimeAmount = .seconds(15),
                            outbox: EventStore? = nil, inbox: (any PeerInbox)? = nil, topics: (any TopicSubscribers)? = nil,
                            head: @escaping @Sendable () -> AuditHead?,
                            audit: @escaping @Sendable (_ action: String, _ peer: String, _ cause: String) -> Void) {
        self.init(publicKey: identity.publicKey, identity: { () throws(TLSError) in identity }, settings: settings,
                  peers: peers, witnesses: witnesses, group: group, pingInterval: pingInterval, outbox: outbox, inbox: inbox,
                  topics: topics, head: head, audit: audit)
    }

    private init(publicKey: [UInt8], identity: @escaping @Sendable () throws(TLSError) -> TLSIdentity,
                 settings: FederationSettings, peers: PeerStore, witnesses: WitnessStore,
                group: any EventLoopGroup, pingInterval: TimeAmount = .seconds(15),
                outbox: EventStore? = nil, inbox: (any PeerInbox)? = nil, topics: (any TopicSubscribers)? = nil,
                head: @escaping @Sendable () -> AuditHead?,
                audit: @escaping @Sendable (_ action: String, _ peer: String, _ cause: String) -> Void) {
        makeIdentity = identity
        identityCache = Mutex(nil)
        nodeID = Base64URL.encode(publicKey)
        self.settings = settings
        self.peers = peers
        self.witnesses = witnesses
        self.group = group
        self.pingInterval = pingInterval
        self.outbox = outbox
        self.topics = topics
        self.head = head
        auditSink = audit
        self.inbox = inbox
        // The receiver acks on whichever link is up when an app has applied a message.
        let links = Mutex<LinkService?>(nil)
        receiver = inbox.map { inbox in
            MessageReceiver(inbox: inbox, window: settings.window, group: group,
                            ack: { peer, app, seq in links.withLock { $0 }?.send(.ack(app: app, seq: seq), to: peer) },
                            failed: { peer, error in links.withLock { $0 }?.failed(peer, error: error) })
        }
        links.withLock { $0 = self }
    }

    /// The node's TLS identity, made once.
    func tlsIdentity() throws(TLSError) -> TLSIdentity {
        let result: Result<TLSIdentity, TLSError> = identityCache.withLock { cached in
            if let cached { return .success(cached) }
            do throws(TLSError) {
                let made = try makeIdentity()
                cached = made
                return .success(made)
            } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Sends `frame` to `peer` on its link, if one is up.
    func send(_ frame: LinkFrame, to peer: String) {
        state.withLock { $0.links[peer]?.channel }?.writeAndFlush(frame, promise: nil)
    }

    /// Apps committed messages for `peers`: their links send them.
    public func messagesCommitted(for peers: Set<String>) {
        let channels = state.withLock { s in peers.compactMap { s.links[$0]?.channel } }
        for channel in channels { channel.pipeline.fireUserInboundEventTriggered(LinkHandler.Wake()) }
    }

    /// The peers whose link is up.
    func linkedPeers() -> [String] { state.withLock { Array($0.links.keys) } }

    func anyLoop() -> any EventLoop { group.next() }

    func registerQuery(_ nonce: UInt64, _ query: HeadQuery) { state.withLock { $0.queries[nonce] = query } }

    /// Ends query `nonce` (every peer answered, or its time is up).
    func finishQuery(_ nonce: UInt64) {
        state.withLock { $0.queries.removeValue(forKey: nonce) }?.finish()
    }

    /// Records `peer`'s answer to query `nonce`; returns how to end the query when that was the last answer.
    func recordAnswer(_ nonce: UInt64, peer: String, _ answer: HeldHead) -> (() -> Void)? {
        guard let query = state.withLock({ $0.queries[nonce] }), query.record(peer, answer) else { return nil }
        return { self.finishQuery(nonce) }
    }

    /// Runs `body` on the highest sequences sent to `peer` per app.
    func withHighestSent<T>(_ peer: String, _ body: (inout [String: UInt64]) -> T) -> T {
        state.withLock { s in body(&s.highestSent[peer, default: [:]]) }
    }

    // MARK: - Lifecycle

    /// Listens (when `[federation] listen` is set) and dials every added peer. Returns the port listened on.
    @discardableResult
    public func start() async throws(FederationError) -> Int? {
        var port: Int?
        if let (host, wanted) = settings.hostAndPort {
            do {
                let listener = try await ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { [self] child in
                        guard handshakeStarted() else { return child.close() }
                        return child.eventLoop.makeCompletedFuture {
                            try child.pipeline.syncOperations.addHandlers([
                                try TLSChannelHandler(role: .server, identity: try tlsIdentity(), peer: .accepting { [self] key in accepts(key) }),
                                LinkFrameHandler(maxFrame: maxFrame), LinkHandler(service: self, outbound: false),
                            ])
                        }
                    }
                    .bind(host: host, port: wanted).get()
                port = listener.localAddress?.port
                state.withLock { $0.listener = listener }
            } catch {
                throw FederationError(.listen, "cannot listen for links on \(host):\(wanted) (node.toml [federation] listen): \(error)")
            }
        }
        if peers.count > 0 { for peer in peers.list() { dial(peer.address) } }
        return port
    }

    public func stop() async {
        let (listener, links) = state.withLock { s in
            s.stopped = true
            return (s.listener, s.links.values.map(\.channel))
        }
        try? await listener?.close()
        for channel in links { try? await channel.close() }
    }

    /// Whether a node whose key is `key` may connect: an added peer, or one `[federation] accept` names.
    func accepts(_ key: [UInt8]) -> Bool {
        let id = Base64URL.encode(key)
        return peers.contains(id) || settings.acceptsUnknown(id)
    }

    // MARK: - Dialling

    /// Keeps a link to `address` up: dials now, and again with backoff whenever there is none.
    public func dial(_ address: PeerAddress) {
        let first = state.withLock { s in
            guard !s.stopped, !s.dialing.contains(address.nodeID) else { return false }
            s.dialing.insert(address.nodeID)
            if s.states[address.nodeID] == nil { s.states[address.nodeID] = LinkState(nodeID: address.nodeID, phase: .connecting, outbound: true) }
            return true
        }
        if first { attempt(address, backoffMs: 1000) }
    }

    private func attempt(_ address: PeerAddress, backoffMs: Int) {
        let loop = group.next()
        let (stop, up) = state.withLock { s in (s.stopped || !s.dialing.contains(address.nodeID), s.links[address.nodeID] != nil) }
        guard !stop else { return }
        // A link is up (perhaps the one the peer dialled): look again later.
        guard !up else {
            loop.scheduleTask(in: .seconds(30)) { self.attempt(address, backoffMs: 1000) }
            return
        }
        state.withLock { $0.states[address.nodeID]?.phase = .connecting }
        guard let key = Base64URL.decode(address.nodeID) else { return }
        let startedNs = MonotonicClock.nowNs()
        ClientBootstrap(group: loop)
            .connectTimeout(.seconds(10))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        try TLSChannelHandler(role: .client, identity: try tlsIdentity(), peer: .exactly(key)),
                        LinkFrameHandler(maxFrame: maxFrame), LinkHandler(service: self, outbound: true),
                    ])
                }
            }
            .connect(host: address.host, port: address.port)
            .whenComplete { [self] result in
                switch result {
                case .failure(let error):
                    retry(address, after: backoffMs, error: "cannot connect to \(address.host):\(address.port): \(error)")
                case .success(let channel):
                    channel.closeFuture.whenComplete { [self] _ in
                        // A link that was established and stayed up a while starts the backoff again from one
                        // second; a server that accepts and then stalls the handshake does not.
                        let up = state.withLock { $0.upSince[address.nodeID] }
                        let lasted = up.map { $0 >= startedNs && MonotonicClock.nowNs() - $0 > 10_000_000_000 } ?? false
                        retry(address, after: lasted ? 1000 : backoffMs, error: nil)
                    }
                }
            }
    }

    private func retry(_ address: PeerAddress, after backoffMs: Int, error: String?) {
        let stop = state.withLock { s -> Bool in
            guard !s.stopped, s.dialing.contains(address.nodeID) else { return true }
            if s.links[address.nodeID] == nil {
                s.states[address.nodeID]?.phase = .backoff
                if let error { s.states[address.nodeID]?.lastError = error }
            }
            return false
        }
        guard !stop else { return }
        let jittered = Int(Double(backoffMs) * Double.random(in: 0.8...1.2))
        group.next().scheduleTask(in: .milliseconds(Int64(jittered))) {
            self.attempt(address, backoffMs: min(backoffMs * 2, 60_000))
        }
    }

    /// Stops dialling `nodeID` and closes its link.
    public func forget(_ nodeID: String) {
        let channel = state.withLock { s -> (any Channel)? in
            s.dialing.remove(nodeID)
            s.states[nodeID] = nil
            s.highestSent[nodeID] = nil
            return s.links[nodeID]?.channel
        }
        receiver?.forget(peer: nodeID)
        channel?.close(promise: nil)
    }

    // MARK: - Links (called by LinkHandler on the link's event loop)

    /// Counts an accepted connection's handshake; false (close it) past `maxHandshakes`.
    func handshakeStarted() -> Bool {
        state.withLock { s in
            guard s.handshaking < Self.maxHandshakes else { return false }
            s.handshaking += 1
            return true
        }
    }

    func handshakeEnded() { state.withLock { $0.handshaking = max(0, $0.handshaking - 1) } }

    /// Records an established link; false when it must close (a link with the peer is up, and that one stays).
    func register(_ peer: String, channel: any Channel, outbound: Bool) -> Bool {
        // The replaced link is closed after the lock is released: closing can run its handlers at once, and they
        // take this lock.
        let (kept, replaced): (Bool, (any Channel)?) = state.withLock { s in
            guard !s.stopped else { return (false, nil) }
            let existing = s.links[peer]
            // A node that dials again lost the link this side still holds (it restarted, or noticed a cut first):
            // the newer link replaces it. When both dial each other, the link dialled by the smaller id stays.
            if let existing, existing.outbound != outbound {
                guard outbound == (nodeID < peer) else { return (false, nil) }
            }
            guard s.links.count < settings.maxLinks || existing != nil else { return (false, nil) }
            // Nodes that are not added peers (`[federation] accept`) take at most half the slots: the peers always
            // find room.
            if existing == nil, !peers.contains(peer) {
                let strangers = s.links.keys.filter { !peers.contains($0) }.count
                guard strangers < max(1, settings.maxLinks / 2) else { return (false, nil) }
            }
            s.links[peer] = (channel, outbound)
            s.upSince[peer] = MonotonicClock.nowNs()
            var st = s.states[peer] ?? LinkState(nodeID: peer, phase: .connected, outbound: outbound)
            st.phase = .connected
            st.outbound = outbound
            st.lastError = nil
            s.states[peer] = st
            return (true, existing?.channel)
        }
        replaced?.close(promise: nil)
        if kept { auditSink("link.up", peer, outbound ? "dialled" : "accepted") }
        return kept
    }

    func unregister(_ peer: String, channel: any Channel) {
        let removed: Bool = state.withLock { s in
            guard let existing = s.links[peer], existing.channel === channel else { return false }
            s.links[peer] = nil
            s.remoteTopics[peer] = nil
            if s.dialing.contains(peer) { s.states[peer]?.phase = .backoff } else { s.states[peer] = nil }
            return true
        }
        if removed { auditSink("link.down", peer, "closed") }
    }

    func failed(_ peer: String?, error: String) {
        guard let peer else { return }
        // Logged when it changes: a peer that keeps failing the same way is one line, not one a frame.
        let changed = state.withLock { s -> Bool in
            defer { s.states[peer]?.lastError = error }
            return s.states[peer]?.lastError != error
        }
        if changed { logger.notice("link trouble", metadata: ["peer": "\(peer)", "detail": "\(error)"]) }
    }

    /// Notes something a link did that the owner may want to see in the log (not the audit log).
    func note(_ message: String, peer: String, level: Logger.Level = .info) {
        logger.log(level: level, "\(message)", metadata: ["peer": "\(peer)"])
    }

    func update(_ peer: String, _ change: (inout LinkState) -> Void) {
        state.withLock { s in
            if var st = s.states[peer] {
                change(&st)
                s.states[peer] = st
            }
        }
    }

    func currentHead() -> AuditHead? { head() }

    /// The node `app` moved to from here, if it did.
    func movedApp(_ app: String) -> String? { inbox?.movedTo(app: app) }

    func audit(_ action: String, _ peer: String, _ cause: String) {
        guard action == "link.refused" else { return auditSink(action, peer, cause) }
        // Anyone who reaches the port can be refused: those entries are bounded, so refusals cannot fill the log.
        let minute = MonotonicClock.nowNs() / 60_000_000_000
        let suppressed: Int? = state.withLock { s in
            if s.refusals.minute != minute { s.refusals = (minute, 0, s.refusals.suppressed) }
            guard s.refusals.audited < Self.refusalsPerMinute else {
                s.refusals.suppressed += 1
                return nil
            }
            s.refusals.audited += 1
            defer { s.refusals.suppressed = 0 }
            return s.refusals.suppressed
        }
        guard let suppressed else { return }
        auditSink(action, peer, cause + (suppressed > 0 ? " (and \(suppressed) refusals not listed one by one)" : ""))
    }

    func witness(_ head: AuditHead, from key: [UInt8], peerID: String) {
        // Heads are kept for the owner's peers only, not for every node `[federation] accept` lets in.
        guard peers.contains(peerID) else { return }
        switch try? witnesses.offer(head, from: key, nowNs: WallClock.nowNs()) {
        case .rolledBack(let kept)?:
            auditSink("witness.evidence", peerID, "its audit log went back from entry \(kept.seq) to \(head.seq)")
        case .forked(let kept)?:
            auditSink("witness.evidence", peerID, "its audit log forked at entry \(kept.seq)")
        default:
            break
        }
    }

    /// Every added peer's link, and any other node's that is connected.
    public func states() -> [LinkState] {
        var all = state.withLock { s in s.states.values.sorted { $0.nodeID < $1.nodeID } }
        if let outbox { for i in all.indices { all[i].queued = outbox.netWaiting(peer: all[i].nodeID) } }
        return all
    }
}

