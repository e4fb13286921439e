import Dispatch
import Foundation
import NIOCore
import NIOPosix
import SynBroker
import SynConfig
@testable import SynFederation
import SynLink
import SynSodium
import SynTLS
import SynTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// App transfers over real links on loopback (link version 2): an honest transfer arrives whole and is answered;
/// a hostile sender that writes past its offer, out of order, or bytes that do not match its digest is stopped, and
/// what it sent is not installed.
@Suite struct TransferTests {
    /// The node's side of transfers, recording what the link service hands it (the real one is `Migrations`,
    /// exercised by the multi-node tests).
    final class Desk: AppTransfers, Sendable {
        let transferDirectory: String
        let refuse: String?
        let arrivals = Mutex<[(app: String, bytes: [UInt8], peer: String)]>([])
        let endings = Mutex<[(id: UInt64, ok: Bool, message: String)]>([])
        /// When set, an install waits for it (an install that takes a while).
        let hold: DispatchSemaphore?
        let installing = Mutex(false)
        /// What each refusal was told of the other bundles arriving, by offer size.
        let arriving = Mutex<[UInt64: UInt64]>([:])
        init(directory: String, refuse: String? = nil, hold: DispatchSemaphore? = nil) {
            transferDirectory = directory
            self.refuse = refuse
            self.hold = hold
        }
        /// As the node does: once an app is being installed or is here, an offer of it is refused.
        func refusal(app: String, size: UInt64, from peer: String, alsoArriving: UInt64) -> String? {
            arriving.withLock { $0[size] = alsoArriving }
            return installing.withLock { $0 } || !arrivals.withLock({ $0.isEmpty }) ? "this node has an app '\(app)' already" : refuse
        }
        func arrived(app: String, path: String, key: [UInt8], from peer: String) -> (ok: Bool, message: String)? {
            installing.withLock { $0 = true }
            hold?.wait()
            let bytes = FileManager.default.contents(atPath: path).map { Array($0) } ?? []
            arrivals.withLock { $0.append((app, bytes, peer)) }
            return (true, "installed \(app)")
        }
        func installed(app: String, from peer: String) -> Bool { !arrivals.withLock { $0.isEmpty } }
        func allSent(_ transfer: OutgoingTransfer) {}
        func maySend(app: String, to node: String) -> Bool { true }
        func ended(_ transfer: OutgoingTransfer, ok: Bool, message: String) { endings.withLock { $0.append((transfer.id, ok, message)) } }
        func peerAppMoved(app: String, from peer: String, to: String, retargeted: Int) {}
    }

    /// Collects the frames a raw client receives.
    final class Frames: ChannelInboundHandler, Sendable {
        typealias InboundIn = LinkFrame
        let established: EventLoopPromise<Void>
        let received = Mutex<[LinkFrame]>([])
        init(_ established: EventLoopPromise<Void>) { self.established = established }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is TLSChannelHandler.Established { established.succeed() }
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            received.withLock { $0.append(frame) }
        }
        func channelInactive(context: ChannelHandlerContext) { established.fail(ChannelError.ioOnClosedChannel) }
    }

    /// A raw link to `b` under a fresh key, past TLS and hello: what a hostile node can send. It answers no ping, so
    /// `b` pings a minute apart.
    static func raw(to b: LinkServiceTests.Node, key: SigningKey? = nil) async throws -> (channel: any Channel, frames: Frames) {
        let key = try key ?? SigningKey.generate()
        let established = LinkServiceTests.group.next().makePromise(of: Void.self)
        let frames = Frames(established)
        let channel = try await ClientBootstrap(group: LinkServiceTests.group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        try TLSChannelHandler(role: .client, identity: try TLSIdentity(key: key), peer: .exactly(b.key.publicKey),
                                              handshakeTimeout: .seconds(120)),
                        LinkFrameHandler(), frames,
                    ])
                }
            }
            .connect(host: "127.0.0.1", port: b.port).get()
        try await established.futureResult.get()
        try await channel.writeAndFlush(LinkFrame.hello(versions: LinkVersion.supported, maxFrame: 128 * 1024, window: 16))
        return (channel, frames)
    }

    static func offer(_ id: UInt64, _ bytes: [UInt8], digest: [UInt8]? = nil) -> LinkFrame {
        var hash = SHA256Stream()
        hash.update(bytes)
        return .transferOffer(id: id, app: "notes", size: UInt64(bytes.count), digest: digest ?? hash.finish(), key: [UInt8](repeating: 7, count: 32))
    }

    @Test func anAppCrossesALinkWhole() async throws {
        let a = try await LinkServiceTests.Node(), b = try await LinkServiceTests.Node()
        let deskA = Desk(directory: a.dir.file("incoming")), deskB = Desk(directory: b.dir.file("incoming"))
        a.service.attach(transfers: deskA)
        b.service.attach(transfers: deskB)
        try a.service.peers.add(b.address, name: "b", nowNs: 1)
        try b.service.peers.add(a.address, name: "a", nowNs: 1)
        // 300 KiB: several chunks, and more than one window acknowledgement.
        let bytes = (0..<(300 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let bundle = a.dir.file("bundle")
        try Data(bytes).write(to: URL(fileURLWithPath: bundle))
        var hash = SHA256Stream()
        hash.update(bytes)
        a.service.send(OutgoingTransfer(id: 77, app: "notes", peer: b.id, path: bundle, size: UInt64(bytes.count), digest: hash.finish(),
                                        key: [UInt8](repeating: 1, count: 32)))
        a.service.dial(b.address)
        #expect(try await a.wait { deskA.endings.withLock { !$0.isEmpty } })
        #expect(deskA.endings.withLock { $0.first?.ok } == true)
        #expect(deskB.arrivals.withLock { $0.first?.bytes } == bytes)
        #expect(deskB.arrivals.withLock { $0.first?.peer } == a.id)
        // The answer is kept for a sender that missed it; the partial file is gone.
        #expect(a.service.transferProgress(77) == nil)
        #expect(FileManager.default.fileExists(atPath: deskB.transferDirectory + "/\(a.id)-77.done"))
        #expect(!FileManager.default.fileExists(atPath: deskB.transferDirectory + "/\(a.id)-77.part"))
        await a.service.stop()
        await b.service.stop()
    }

    @Test func aSenderThatWritesPastItsOfferLosesItsLink() async throws {
        let b = try await LinkServiceTests.Node(accept: ["*"], pingInterval: .seconds(60))
        let desk = Desk(directory: b.dir.file("incoming"))
        b.service.attach(transfers: desk)
        let (channel, frames) = try await Self.raw(to: b)
        let bytes = [UInt8](repeating: 1, count: 2000)
        try await channel.writeAndFlush(Self.offer(5, bytes))
        #expect(try await b.wait { frames.received.withLock { $0.contains(.transferAt(id: 5, have: 0)) } })
        try await channel.writeAndFlush(LinkFrame.transferChunk(id: 5, offset: 0, bytes: bytes + bytes))
        try await channel.closeFuture.get()
        #expect(try await b.wait { b.audit.lines.withLock { $0 }.contains { $0.hasPrefix("link.violation") && $0.contains("past its offer") } })
        #expect(desk.arrivals.withLock { $0.isEmpty })
        await b.service.stop()
    }

    @Test func aSenderThatSkipsAheadLosesItsLink() async throws {
        let b = try await LinkServiceTests.Node(accept: ["*"], pingInterval: .seconds(60))
        let desk = Desk(directory: b.dir.file("incoming"))
        b.service.attach(transfers: desk)
        let (channel, frames) = try await Self.raw(to: b)
        let bytes = [UInt8](repeating: 2, count: 4000)
        try await channel.writeAndFlush(Self.offer(6, bytes))
        #expect(try await b.wait { frames.received.withLock { $0.contains(.transferAt(id: 6, have: 0)) } })
        try await channel.writeAndFlush(LinkFrame.transferChunk(id: 6, offset: 2000, bytes: Array(bytes[2000...])))
        try await channel.closeFuture.get()
        #expect(try await b.wait { b.audit.lines.withLock { $0 }.contains { $0.hasPrefix("link.violation") && $0.contains("out of order") } })
        #expect(desk.arrivals.withLock { $0.isEmpty })
        await b.service.stop()
    }

    @Test func bytesThatDoNotMatchTheOfferAreNeverInstalled() async throws {
        let b = try await LinkServiceTests.Node(accept: ["*"], pingInterval: .seconds(60))
        let desk = Desk(directory: b.dir.file("incoming"))
        b.service.attach(transfers: desk)
        let (channel, frames) = try await Self.raw(to: b)
        let bytes = [UInt8](repeating: 3, count: 3000)
        try await channel.writeAndFlush(Self.offer(8, bytes, digest: [UInt8](repeating: 0, count: 32)))
        #expect(try await b.wait { frames.received.withLock { $0.contains(.transferAt(id: 8, have: 0)) } })
        try await channel.writeAndFlush(LinkFrame.transferChunk(id: 8, offset: 0, bytes: bytes))
        #expect(try await b.wait {
            frames.received.withLock { $0.contains { if case .transferEnd(8, false, let m) = $0 { m.contains("does not match") } else { false } } }
        })
        #expect(desk.arrivals.withLock { $0.isEmpty })
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: desk.transferDirectory)) ?? []).allSatisfy { !$0.hasSuffix(".part") })
        try await channel.close()
        await b.service.stop()
    }

    /// Two bundles arriving at once both need room: the node's check of the second counts the first.
    @Test func anOfferCountsTheBundlesAlreadyArriving() async throws {
        let b = try await LinkServiceTests.Node(accept: ["*"], pingInterval: .seconds(60))
        let desk = Desk(directory: b.dir.file("incoming"))
        b.service.attach(transfers: desk)
        let (channel, frames) = try await Self.raw(to: b)
        try await channel.writeAndFlush(Self.offer(11, [UInt8](repeating: 5, count: 2000)))
        #expect(try await b.wait { frames.received.withLock { $0.contains(.transferAt(id: 11, have: 0)) } })
        try await channel.writeAndFlush(Self.offer(12, [UInt8](repeating: 6, count: 3000)))
        #expect(try await b.wait { frames.received.withLock { $0.contains(.transferAt(id: 12, have: 0)) } })
        #expect(desk.arriving.withLock { $0 } == [2000: 0, 3000: 2000])
        try await channel.close()
        await b.service.stop()
    }

    @Test func anOfferTheNodeRefusesWritesNothing() async throws {
        let b = try await LinkServiceTests.Node(accept: ["*"], pingInterval: .seconds(60))
        let desk = Desk(directory: b.dir.file("incoming"), refuse: "not from you (node.toml [migration] accept_from)")
        b.service.attach(transfers: desk)
        let (channel, frames) = try await Self.raw(to: b)
        // Too small to be a bundle: refused before anything else is asked.
        try await channel.writeAndFlush(Self.offer(10, [UInt8](repeating: 4, count: 100)))
        #expect(try await b.wait {
            frames.received.withLock { $0.contains { if case .transferEnd(10, false, let m) = $0 { m.contains("too small") } else { false } } }
        })
        try await channel.writeAndFlush(Self.offer(9, [UInt8](repeating: 4, count: 2000)))
        #expect(try await b.wait {
            frames.received.withLock { $0.contains { if case .transferEnd(9, false, let m) = $0 { m.contains("accept_from") } else { false } } }
        })
        // Bytes sent anyway are dropped, not written.
        try await channel.writeAndFlush(LinkFrame.transferChunk(id: 9, offset: 0, bytes: [UInt8](repeating: 4, count: 2000)))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: desk.transferDirectory)) ?? []).isEmpty)
        #expect(b.audit.lines.withLock { $0 }.contains { $0.hasPrefix("transfer.refused") })
        try await channel.close()
        await b.service.stop()
    }

    /// The sender's link drops while the receiver installs; offered again on a new link, the transfer is not
    /// refused as "an app already here" (which would make the sender serve the app again beside the receiver): the
    /// receiver stays silent until its answer, which is yes.
    @Test func anOfferRepeatedWhileTheAppInstallsIsNotRefused() async throws {
        let b = try await LinkServiceTests.Node(accept: ["*"], pingInterval: .seconds(60))
        let hold = DispatchSemaphore(value: 0)
        let desk = Desk(directory: b.dir.file("incoming"), hold: hold)
        b.service.attach(transfers: desk)
        let key = try SigningKey.generate()
        let bytes = [UInt8](repeating: 5, count: 5000)
        let (first, firstFrames) = try await Self.raw(to: b, key: key)
        try await first.writeAndFlush(Self.offer(11, bytes))
        #expect(try await b.wait { firstFrames.received.withLock { $0.contains(.transferAt(id: 11, have: 0)) } })
        try await first.writeAndFlush(LinkFrame.transferChunk(id: 11, offset: 0, bytes: bytes))
        #expect(try await b.wait { desk.installing.withLock { $0 } })
        try await first.close()
        let (second, frames) = try await Self.raw(to: b, key: key)
        try await second.writeAndFlush(Self.offer(11, bytes))
        // The install ends; the answer reaches the link that is up now.
        try await second.writeAndFlush(LinkFrame.ping(1))
        #expect(try await b.wait { frames.received.withLock { $0.contains(.pong(1)) } })
        hold.signal()
        #expect(try await b.wait { frames.received.withLock { $0.contains { if case .transferEnd(11, _, _) = $0 { true } else { false } } } })
        #expect(frames.received.withLock { $0 }.contains { if case .transferEnd(11, true, _) = $0 { true } else { false } })
        #expect(!frames.received.withLock { $0 }.contains { if case .transferEnd(11, false, _) = $0 { true } else { false } })
        // Asked again later, the kept answer is given.
        try await second.writeAndFlush(Self.offer(11, bytes))
        #expect(try await b.wait { frames.received.withLock { $0.filter { if case .transferEnd(11, true, _) = $0 { true } else { false } }.count == 2 } })
        try await second.close()
        await b.service.stop()
    }

    /// A receiver that answers "installed" before it holds every byte is not believed: the sender keeps its app.
    @Test func aYesBeforeAllBytesArrivedIsNotBelieved() async throws {
        let a = try await LinkServiceTests.Node(accept: ["*"], pingInterval: .seconds(60))
        let desk = Desk(directory: a.dir.file("incoming"))
        a.service.attach(transfers: desk)
        let bundle = a.dir.file("bundle")
        let bytes = [UInt8](repeating: 6, count: 200_000)
        try Data(bytes).write(to: URL(fileURLWithPath: bundle))
        var hash = SHA256Stream()
        hash.update(bytes)
        // A hostile receiver, listening as a node would, and one of A's peers.
        let liarKey = try SigningKey.generate()
        let listener = try await Self.fakeReceiver(key: liarKey) { frame in
            if case .transferOffer(let id, _, _, _, _) = frame { return [.transferAt(id: id, have: 0), .transferEnd(id: id, ok: true, message: "installed")] }
            return []
        }
        let liar = PeerAddress(nodeID: Base64URL.encode(liarKey.publicKey), host: "127.0.0.1", port: try #require(listener.localAddress?.port))
        try a.service.peers.add(liar, name: "liar", nowNs: 1)
        a.service.send(OutgoingTransfer(id: 21, app: "notes", peer: liar.nodeID, path: bundle, size: UInt64(bytes.count), digest: hash.finish(),
                                        key: [UInt8](repeating: 1, count: 32)))
        a.service.dial(liar)
        #expect(try await a.wait { a.audit.lines.withLock { $0 }.contains { $0.hasPrefix("link.violation") && $0.contains("before all of it arrived") } })
        #expect(desk.endings.withLock { $0.isEmpty })
        #expect(a.service.transferProgress(21) != nil)
        try await listener.close()
        await a.service.stop()
    }

    /// Listens on a free loopback port as the node whose key is `key`, answering each frame with what `answer` says.
    static func fakeReceiver(key: SigningKey, answer: @escaping @Sendable (LinkFrame) -> [LinkFrame]) async throws -> any Channel {
        try await ServerBootstrap(group: LinkServiceTests.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandlers([
                        try TLSChannelHandler(role: .server, identity: try TLSIdentity(key: key), peer: .accepting { _ in true }),
                        LinkFrameHandler(), Answering(answer),
                    ])
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    final class Answering: ChannelInboundHandler, Sendable {
        typealias InboundIn = LinkFrame
        typealias OutboundOut = LinkFrame
        let answer: @Sendable (LinkFrame) -> [LinkFrame]
        init(_ answer: @escaping @Sendable (LinkFrame) -> [LinkFrame]) { self.answer = answer }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is TLSChannelHandler.Established {
                context.writeAndFlush(wrapOutboundOut(.hello(versions: LinkVersion.supported, maxFrame: 128 * 1024, window: 16)), promise: nil)
            }
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            for frame in answer(unwrapInboundIn(data)) { context.write(wrapOutboundOut(frame), promise: nil) }
            context.flush()
        }
    }
}
