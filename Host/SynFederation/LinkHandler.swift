import NIOCore
import SynBroker
import SynLink
import SynSodium
import SynSystem
import SynTLS

/// The top of one link's pipeline: once TLS has named the peer it registers the link with its `LinkService`,
/// sends hello, this node's audit head and a ping, answers pings, keeps the peer's audit heads as a witness, and
/// measures round trips. Frames this version does not deliver yet (messages, topics) are counted and dropped.
final class LinkHandler: ChannelInboundHandler {
    typealias InboundIn = LinkFrame
    typealias OutboundOut = LinkFrame

    private let service: LinkService
    private let outbound: Bool
    private var peerKey: [UInt8]?
    private var peerID: String?
    private var pingSent: (nonce: UInt64, atNs: Int64)?
    private var pinger: Scheduled<Void>?
    /// Set when this side closes the link: what is still in the current read is not acted on.
    private var closing = false
    /// When the peer's last audit head was taken: at most one per ping interval is checked.
    private var lastHeadNs: Int64 = 0
    /// Pings sent without a pong since: past `maxMissedPings` the peer is gone, and the link closes.
    private var missedPings = 0
    static let maxMissedPings = 3
    /// Frames a peer may send per second (bursts of twice that); past it the link closes, and no other link waits.
    private var budget: (tokens: Double, atNs: Int64)

    /// An accepted connection counts against the listener's handshakes in progress until TLS ends either way.
    private var handshakePending: Bool

    init(service: LinkService, outbound: Bool) {
        self.service = service
        self.outbound = outbound
        handshakePending = !outbound
        budget = (Double(service.maxFramesPerSecond * 2), MonotonicClock.nowNs())
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
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
            closing = true
            context.writeAndFlush(wrapOutboundOut(.close(reason: reason)), promise: nil)
            context.close(promise: nil)
            return
        }
        budget.tokens -= 1
        switch frame {
        case .hello(let versions, _, _):
            do throws(LinkError) {
                _ = try LinkVersion.agree(with: versions)
            } catch {
                service.audit("link.refused", peerID, "no common link version: \(error.message)")
                closing = true
                context.writeAndFlush(wrapOutboundOut(.close(reason: error.message)), promise: nil)
                context.close(promise: nil)
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
        case .message, .ack, .subscribe, .unsubscribe, .publish:
            // Not delivered by this version of the node yet: counted above, dropped here.
            break
        }
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
        if let peerID { service.unregister(peerID, channel: context.channel) }
        context.fireChannelInactive()
    }
}
