import NIOCore
import SynBroker
import SynConfig
import SynLink
import SynSodium
import SynSystem
import SynTLS

/// The top of one link's pipeline: once TLS has named the peer it registers the link with its `LinkService`,
/// sends hello, this node's audit head and a ping, answers pings, keeps the peer's audit heads as a witness, and
/// measures round trips. After the peer's hello it sends the apps' messages for the peer (`MessageSender`) and
/// hands the peer's messages to the `MessageReceiver`. Topic frames are not delivered yet: counted and dropped.
final class LinkHandler: ChannelInboundHandler {
    typealias InboundIn = LinkFrame
    typealias OutboundOut = LinkFrame

    /// Sent through the pipeline when apps committed messages for the peer.
    struct Wake: Sendable {}
    /// Sent through the pipeline when this node's apps changed: the topics subscribed to are sent again.
    struct Resubscribe: Sendable {}

    let service: LinkService
    private let outbound: Bool
    private var peerKey: [UInt8]?
    var peerID: String?
    private var pingSent: (nonce: UInt64, atNs: Int64)?
    private var pinger: Scheduled<Void>?
    /// Set when this side closes the link: what is still in the current read is not acted on.
    var closing = false
    /// When the peer's last audit head was taken: at most one per ping interval is checked.
    private var lastHeadNs: Int64 = 0
    /// Pings sent without a pong since: past `maxMissedPings` the peer is gone, and the link closes.
    private var missedPings = 0
    static let maxMissedPings = 3
    /// Frames a peer may send per second (bursts of twice that); past it the link closes, and no other link waits.
    private var budget: (tokens: Double, atNs: Int64)

    /// An accepted connection counts against the listener's handshakes in progress until TLS ends either way.
    private var handshakePending: Bool
    /// Whether the peer's hello came: it must be its first frame, and it comes once.
    var helloReceived = false
    /// The apps' messages for the peer, once its hello said its window.
    private var sender: MessageSender?
    /// The topic patterns this node subscribed to on this link (sent after the peer's hello).
    private var subscribed: [String] = []
    /// The link version both sides speak (from the peer's hello), and the largest frame the peer takes.
    var version: UInt16 = 1
    var peerMaxFrame = LinkFrame.defaultMaxFrame
    /// App transfers on this link.
    var transfers = TransferLink()

    init(service: LinkService, outbound: Bool) {
        self.service = service
        self.outbound = outbound
        handshakePending = !outbound
        budget = (Double(service.maxFramesPerSecond * 2), MonotonicClock.nowNs())
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is Wake { return pump(context: context) }
        if event is Resubscribe { return resubscribe(context: context) }
        if event is OfferTransfers { return offerTransfers(context: context) }
        if let cancel = event as? CancelTransfer { return cancelTransfer(cancel.id, context: context) }
        guard let established = event as? TLSChannelHandler.Established else { return context.fireUserInboundEventTriggered(event) }
        endHandshake()
        let id = Base64URL.encode(established.peerKey)
        // Nothing from a link that is refused here is acted on: its id is set only once it is registered.
        guard service.register(id, channel: context.channel, outbound: outbound) else {
            closing = true
            context.writeAndFlush(wrapOutboundOut(.close(reason: "a link with this node is already up")), promise: nil)
            context.close(promise: nil)
            return
        }
        peerKey = established.peerKey
        peerID = id
        if let outbox = service.outbox { sender = MessageSender(peer: id, store: outbox) }
        context.write(wrapOutboundOut(.hello(versions: LinkVersion.supported, maxFrame: UInt32(service.maxFrame), window: UInt32(service.window))), promise: nil)
        if let head = service.currentHead() { context.write(wrapOutboundOut(.auditHead(head.text)), promise: nil) }
        context.flush()
        ping(context: context)
        schedulePing(context: context)
    }

    /// Every `pingInterval`: a ping, and the latest audit head, so the peer's copy stays that far behind at most.
    private func schedulePing(context: ChannelHandlerContext) {
        pinger = context.eventLoop.assumeIsolated().scheduleTask(in: service.pingInterval) { [self] in
            if pingSent != nil { missedPings += 1 }
            guard missedPings < Self.maxMissedPings else {
                service.failed(peerID, error: "no answer to \(Self.maxMissedPings) pings")
                context.close(promise: nil)
                return
            }
            ping(context: context)
            if let head = service.currentHead() { context.writeAndFlush(wrapOutboundOut(.auditHead(head.text)), promise: nil) }
            // Messages unacknowledged for two intervals are sent again (the peer drops the ones it applied).
            offerTransfers(context: context)
            if let rewound = sender?.rewindStalled(stallNs: 2 * service.pingInterval.nanoseconds), rewound > 0 {
                if let peerID { service.note("no acknowledgement for two ping intervals: sending \(rewound) app stream(s) again from the last ack", peer: peerID) }
                pump(context: context)
            }
            schedulePing(context: context)
        }
    }

    private func endHandshake() {
        guard handshakePending else { return }
        handshakePending = false
        service.handshakeEnded()
    }

    private func ping(context: ChannelHandlerContext) {
        let nonce = UInt64.random(in: 1...UInt64.max)
        pingSent = (nonce, MonotonicClock.nowNs())
        context.writeAndFlush(wrapOutboundOut(.ping(nonce)), promise: nil)
        if let peerID { service.update(peerID) { $0.framesOut += 1 } }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let peerID, let peerKey, !closing else { return }
        let frame = unwrapInboundIn(data)
        service.update(peerID) { $0.framesIn += 1 }
        let now = MonotonicClock.nowNs()
        let rate = Double(service.maxFramesPerSecond)
        budget = (min(rate * 2, budget.tokens + Double(now - budget.atNs) / 1e9 * rate), now)
        guard budget.tokens >= 1 else {
            let reason = "more than \(service.maxFramesPerSecond) frames a second (node.toml [federation] max_frames_per_s)"
            service.failed(peerID, error: "closed: the peer sent " + reason)
            service.audit("link.flood", peerID, "sent " + reason)
            return close(context, reason)
        }
        guard helloReceived || frame.isHello else { return violation(context, peerID, "a \(frame.name) frame before its hello") }
        // Frames that move messages forward (a new message, an ack that covers some) are paced by the window;
        // every other frame spends the peer's budget.
        var productive = false
        switch frame {
        case .hello(let versions, let maxFrame, let window):
            guard !helloReceived else { return violation(context, peerID, "a second hello") }
            helloReceived = true
            peerMaxFrame = max(4096, min(Int(maxFrame), LinkFrame.defaultMaxFrame * 8))
            do throws(LinkError) {
                version = try LinkVersion.agree(with: versions)
            } catch {
                service.audit("link.refused", peerID, "no common link version: \(error.message)")
                return close(context, error.message)
            }
            sender?.window = Int(min(window, 65_536))
            // The topics this node's apps subscribe to, so the peer sends their publications here.
            let subscriptions = service.localSubscriptions()
            subscribed = subscriptions.map(\.topic)
            for sub in subscriptions {
                context.write(wrapOutboundOut(.subscribe(app: sub.app, topic: sub.topic)), promise: nil)
            }
            context.flush()
            pump(context: context)
            offerTransfers(context: context)
        case .message(let app, let seq, let payload):
            // An app that moved away: the peer is told where (once a link), and sends there.
            if let to = service.movedApp(app) {
                if version >= LinkVersion.transfers, context.channel.isWritable, TransferLink.remember(app, in: &transfers.toldMoved) {
                    context.writeAndFlush(wrapOutboundOut(.appMoved(app: app, to: to)), promise: nil)
                }
                break
            }
            guard let receiver = service.receiver else { break }
            switch receiver.received(peer: peerID, app: app, seq: seq, payload: payload) {
            case .taken:
                productive = true
            case .ignored:
                break
            case .ack(let applied):
                context.writeAndFlush(wrapOutboundOut(.ack(app: app, seq: applied)), promise: nil)
            case .refused(let why):
                service.failed(peerID, error: "a message for app '\(app)' is not taken: \(why)")
            case .violation(let why):
                return violation(context, peerID, why)
            }
        case .ack(let app, let seq):
            let covered = sender?.acked(app: app, through: seq) ?? 0
            if covered > 0 {
                productive = true
                service.update(peerID) { $0.messagesAcked += covered }
                pump(context: context, apps: [app])
            }
        case .ping(let nonce):
            // A peer that pings and does not read gets no more pongs than the socket takes.
            if context.channel.isWritable { context.writeAndFlush(wrapOutboundOut(.pong(nonce)), promise: nil) }
        case .pong(let nonce):
            guard let sent = pingSent, sent.nonce == nonce else { return }
            pingSent = nil
            missedPings = 0
            let rtt = Double(MonotonicClock.nowNs() - sent.atNs) / 1e6
            service.update(peerID) { $0.rttMs = rtt }
        case .auditHead(let text):
            // One head per ping interval is enough to witness: more would only cost signature checks and writes.
            let now = MonotonicClock.nowNs()
            guard now - lastHeadNs >= service.pingInterval.nanoseconds / 2, let head = AuditHead(text: text) else { return }
            lastHeadNs = now
            service.witness(head, from: peerKey, peerID: peerID)
        case .close:
            closing = true
            context.close(promise: nil)
        case .headQuery(let nonce):
            // What this node holds of the asker's log, for its owner's `audit verify`.
            let held = service.witnesses.head(of: peerKey)?.text ?? ""
            if context.channel.isWritable { context.writeAndFlush(wrapOutboundOut(.heldHead(nonce: nonce, head: held)), promise: nil) }
        case .heldHead(let nonce, let text):
            service.answered(peerID, nonce: nonce, head: text.isEmpty ? nil : AuditHead(text: text), malformed: !text.isEmpty && AuditHead(text: text) == nil)
        case .subscribe(_, let topic), .unsubscribe(_, let topic):
            let on = if case .subscribe = frame { true } else { false }
            guard service.subscribe(peerID, topic: topic, on: on) else {
                return violation(context, peerID, "more than \(LinkService.maxRemoteTopics) topic subscriptions")
            }
        case .transferOffer(let id, let app, let size, let digest, let key):
            guard version >= LinkVersion.transfers else { return violation(context, peerID, "a transfer on a version 1 link") }
            transferOffered(id: id, app: app, size: size, digest: digest, key: key, context: context, peer: peerID)
        case .transferAt(let id, let have):
            transferAt(id, have: have, context: context, peer: peerID)
        case .transferChunk(let id, let offset, let bytes):
            productive = transferChunk(id, offset: offset, bytes: bytes, context: context, peer: peerID)
        case .transferEnd(let id, let ok, let message):
            transferEnded(id, ok: ok, message: message, context: context, peer: peerID)
        case .appMoved(let app, let to):
            guard version >= LinkVersion.transfers else { return violation(context, peerID, "an app moved frame on a version 1 link") }
            guard TransferLink.remember(app, in: &transfers.heardMoved) else { break }
            service.appMoved(app, from: peerID, to: to)
        case .publish(let app, let topic, let payload):
            // Only what this node's apps subscribed to is taken; the rest is dropped.
            guard subscribed.contains(where: { Policy.topicMatches($0, topic) }) else { break }
            service.topics?.deliverPublished(topic: topic, payload: payload, app: app, from: peerID)
        }
        if !productive { budget.tokens -= 1 }
    }

    /// Tells the peer the topic patterns subscribed to now: `subscribe` for new ones, `unsubscribe` for those no
    /// app here wants any more (a pattern two apps share stays until neither does).
    private func resubscribe(context: ChannelHandlerContext) {
        guard helloReceived, !closing else { return }
        let now = service.localSubscriptions()
        let before = Set(subscribed), after = Set(now.map(\.topic))
        for sub in now where !before.contains(sub.topic) {
            context.write(wrapOutboundOut(.subscribe(app: sub.app, topic: sub.topic)), promise: nil)
        }
        for topic in before.subtracting(after) {
            context.write(wrapOutboundOut(.unsubscribe(app: "node", topic: topic)), promise: nil)
        }
        context.flush()
        subscribed = Array(after)
    }

    /// Sends what the apps have for the peer, within its window (`apps`: only those apps' streams).
    private func pump(context: ChannelHandlerContext, apps: [String]? = nil) {
        guard let peerID, helloReceived, !closing, context.channel.isWritable, var s = sender else { return }
        let (frames, retried) = service.withHighestSent(peerID) { s.next(apps: apps, highest: &$0) }
        sender = s
        guard !frames.isEmpty else { return }
        for f in frames { context.write(wrapOutboundOut(.message(app: f.app, seq: f.seq, payload: f.payload)), promise: nil) }
        context.flush()
        service.update(peerID) {
            $0.framesOut += frames.count
            $0.messagesSent += frames.count
            $0.messagesRetried += retried
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            pump(context: context)
            pumpTransfers(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    /// The peer broke the protocol: its link closes (never the node), and the owner sees why.
    func violation(_ context: ChannelHandlerContext, _ peerID: String, _ what: String) {
        service.failed(peerID, error: "closed: the peer sent \(what)")
        service.audit("link.violation", peerID, "sent \(what)")
        close(context, "protocol violation: \(what)")
    }

    private func close(_ context: ChannelHandlerContext, _ reason: String) {
        closing = true
        context.writeAndFlush(wrapOutboundOut(.close(reason: reason)), promise: nil)
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        closing = true
        let text = "\(error)"
        if let tls = error as? TLSError, tls.code == .peerRefused {
            service.audit("link.refused", peerID ?? "?", tls.message)
        }
        service.failed(peerID, error: text)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        endHandshake()
        pinger?.cancel()
        sender?.flushDeletes()
        transfersClosed(peer: peerID, channel: context.channel)
        if let peerID { service.unregister(peerID, channel: context.channel) }
        context.fireChannelInactive()
    }
}
