import NIOCore
import NIOPosix
import SynBroker
@testable import SynFederation
import SynLink
import SynSodium
import SynTLS
import SynTestSupport
import Synchronization
import Testing

/// The message frames of a link, from a peer that speaks the frames itself over real TLS on loopback: messages reach
/// the node's inbox in order and once, an applied one is acknowledged again instead, and a peer that breaks the
/// protocol (a frame before its hello, more than the window) loses its link. The raw peer answers no pings: the
/// nodes here ping a minute apart, so no link closes for that.
@Suite struct LinkMessageTests {
    /// An inbox that records what it is handed; it applies each message at once, or holds them all (`hold`).
    final class RecordingInbox: PeerInbox {
        let hold: Bool
        let delivered = Mutex<[(app: String, seq: UInt64)]>([])
        /// What the app applied before (as its database says after a restart), and what it applies from here on.
        let applied: Mutex<UInt64>
        init(hold: Bool = false, alreadyApplied: UInt64 = 0) {
            self.hold = hold
            applied = Mutex(alreadyApplied)
        }

        func refusal(app: String, peer: String) -> String? { app == "relay" ? nil : "this node has no app '\(app)'" }

        func deliver(app: String, peer: String, seq: UInt64, payload: [UInt8], done: @escaping @Sendable (PeerDelivery) -> Void) {
            guard !hold else {
                delivered.withLock { $0.append((app, seq)) }
                return
            }
            // As the app's worker answers: applied before, the next one, or one past a gap.
            let outcome: PeerDelivery = applied.withLock { last in
                if seq <= last { return .duplicate(applied: last) }
                guard seq == last + 1 else { return .gap(applied: last) }
                last = seq
                return .applied(seq)
            }
            if case .applied = outcome { delivered.withLock { $0.append((app, seq)) } }
            done(outcome)
        }
    }

    /// Collects the frames a node sends to the raw peer.
    final class Frames: ChannelInboundHandler, Sendable {
        typealias InboundIn = LinkFrame
        let received = Mutex<[LinkFrame]>([])
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            received.withLock { $0.append(frame) }
        }
        var acks: [UInt64] { received.withLock { $0.compactMap { if case .ack(_, let seq) = $0 { seq } else { nil } } } }
    }

    /// A peer of `node` (accepted as any node) that writes frames itself; its channel, once TLS is up, and its frames.
    static func rawPeer(of node: LinkServiceTests.Node, key given: SigningKey? = nil) async throws -> (channel: any Channel, frames: Frames, id: String) {
        let key = try given ?? SigningKey.generate()
        let frames = Frames()
        let established = LinkServiceTests.group.next().makePromise(of: Void.self)
        let channel = try await ClientBootstrap(group: LinkServiceTests.group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        try TLSChannelHandler(role: .client, identity: try TLSIdentity(key: key), peer: .exactly(node.key.publicKey)),
                        LinkFrameHandler(), LinkServiceTests.Established(established), frames,
                    ])
                }
            }
            .connect(host: "127.0.0.1", port: node.port).get()
        try await established.futureResult.get()
        return (channel, frames, Base64URL.encode(key.publicKey))
    }

    static func hello(window: UInt32 = 16) -> LinkFrame {
        .hello(versions: LinkVersion.supported, maxFrame: 128 * 1024, window: window)
    }

    @Test func messagesReachTheInboxInOrderOnceAndAreAcknowledged() async throws {
        let inbox = RecordingInbox()
        let b = try await LinkServiceTests.Node(accept: ["*"], pingInterval: .seconds(60), inbox: inbox)
        let (channel, frames, _) = try await Self.rawPeer(of: b)
        channel.write(Self.hello(), promise: nil)
        for seq in UInt64(1)...5 { channel.write(LinkFrame.message(app: "relay", seq: seq, payload: Array("m\(seq)".utf8)), promise: nil) }
        // A repeat of one already taken, a message past a gap, and one for an app this node does not have.
        channel.write(LinkFrame.message(app: "relay", seq: 3, payload: []), promise: nil)
        channel.write(LinkFrame.message(app: "relay", seq: 9, payload: []), promise: nil)
        channel.write(LinkFrame.message(app: "nosuch", seq: 1, payload: []), promise: nil)
        try await channel.writeAndFlush(LinkFrame.ping(7)).get()
        #expect(try await b.wait { frames.acks.contains(5) })
        #expect(inbox.delivered.withLock { $0.map(\.seq) } == [1, 2, 3, 4, 5])
        // Sent again after a lost ack: acknowledged again, never handed to the app a second time.
        try await channel.writeAndFlush(LinkFrame.message(app: "relay", seq: 2, payload: [])).get()
        #expect(try await b.wait { frames.acks.filter { $0 == 5 }.count >= 2 })
        #expect(inbox.delivered.withLock { $0.count } == 5)
        #expect(channel.isActive)
        try await channel.close()
        await b.service.stop()
    }

    @Test func aFrameBeforeTheHelloClosesTheLink() async throws {
        let b = try await LinkServiceTests.Node(accept: ["*"], pingInterval: .seconds(60), inbox: RecordingInbox())
        let (channel, _, id) = try await Self.rawPeer(of: b)
        try await channel.writeAndFlush(LinkFrame.message(app: "relay", seq: 1, payload: [])).get()
        try await channel.closeFuture.get()
        #expect(try await b.wait { b.audit.lines.withLock { $0 }.contains { $0.hasPrefix("link.violation \(id) sent a message frame before its hello") } })
        await b.service.stop()
    }

    @Test func morePendingMessagesThanTheWindowCloseTheLink() async throws {
        let inbox = RecordingInbox(hold: true)
        let b = try await LinkServiceTests.Node(accept: ["*"], pingInterval: .seconds(60), window: 4, inbox: inbox)
        let (channel, _, id) = try await Self.rawPeer(of: b)
        channel.write(Self.hello(), promise: nil)
        // The app holds the first of four waiting; the fifth is past the window of four.
        for seq in UInt64(1)...6 { channel.write(LinkFrame.message(app: "relay", seq: seq, payload: []), promise: nil) }
        channel.flush()
        try await channel.closeFuture.get()
        #expect(try await b.wait { b.audit.lines.withLock { $0 }.contains { $0.hasPrefix("link.violation \(id) sent more than 4 messages") } })
        await b.service.stop()
    }

    /// A peer that restarted (or noticed a cut first) dials again while this side still holds its old link: the
    /// new link replaces the old one at once, rather than waiting for three missed pings.
    @Test func aPeerThatDialsAgainReplacesItsOldLink() async throws {
        let b = try await LinkServiceTests.Node(accept: ["*"], pingInterval: .seconds(60), inbox: RecordingInbox())
        let key = try SigningKey.generate()
        let first = try await Self.rawPeer(of: b, key: key)
        first.channel.writeAndFlush(Self.hello(), promise: nil)
        #expect(try await b.wait { b.service.states().first { $0.nodeID == first.id }?.phase == .connected })
        let second = try await Self.rawPeer(of: b, key: key)
        try await first.channel.closeFuture.get()
        try await second.channel.writeAndFlush(Self.hello()).get()
        try await second.channel.writeAndFlush(LinkFrame.message(app: "relay", seq: 1, payload: [])).get()
        #expect(try await b.wait { second.frames.acks.contains(1) })
        #expect(second.channel.isActive)
        try await second.channel.close()
        await b.service.stop()
    }

    /// After a restart of the receiving node its app has applied messages the sender still holds (their acks were
    /// lost): the repeats are acknowledged, and the messages after them are taken and applied in order.
    @Test func aReceiverThatRestartedTakesTheMessagesAfterThoseItsAppApplied() async throws {
        let inbox = RecordingInbox(alreadyApplied: 200)
        let b = try await LinkServiceTests.Node(accept: ["*"], pingInterval: .seconds(60), inbox: inbox)
        let (channel, frames, _) = try await Self.rawPeer(of: b)
        channel.write(Self.hello(window: 512), promise: nil)
        for seq in UInt64(101)...300 { channel.write(LinkFrame.message(app: "relay", seq: seq, payload: []), promise: nil) }
        channel.flush()
        #expect(try await b.wait { frames.acks.contains(300) }, "\(frames.acks.suffix(5))")
        #expect(inbox.delivered.withLock { $0.map(\.seq) } == Array(201...300))
        try await channel.close()
        await b.service.stop()
    }

    /// Messages the node does not take (out of order, repeated) are not paced by the window: they cost the peer's
    /// frame budget, and a peer that floods them loses its link.
    @Test func aFloodOfMessagesThatAreNotTakenClosesTheLink() async throws {
        let b = try await LinkServiceTests.Node(accept: ["*"], maxFramesPerSecond: 100, pingInterval: .seconds(60), inbox: RecordingInbox())
        let (channel, frames, id) = try await Self.rawPeer(of: b)
        channel.write(Self.hello(), promise: nil)
        channel.write(LinkFrame.message(app: "relay", seq: 1, payload: []), promise: nil)
        try await channel.writeAndFlush(LinkFrame.ping(1)).get()
        #expect(try await b.wait { frames.acks.contains(1) })
        for _ in 0..<2000 { channel.write(LinkFrame.message(app: "relay", seq: 99, payload: []), promise: nil) }
        channel.flush()
        try await channel.closeFuture.get()
        #expect(try await b.wait { b.audit.lines.withLock { $0 }.contains { $0.hasPrefix("link.flood \(id)") } })
        await b.service.stop()
    }
}
