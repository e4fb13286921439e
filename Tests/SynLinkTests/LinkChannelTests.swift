import NIOCore
import NIOPosix
import SynLink
import SynSodium
import SynTLS
import Synchronization
import Testing

/// Two link endpoints over real TCP on loopback: TLS on node keys, then link frames.
@Suite struct LinkChannelTests {
    /// Records what reaches the top of a pipeline, and answers pings.
    final class Endpoint: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = LinkFrame
        typealias OutboundOut = LinkFrame
        let frames = Mutex<[LinkFrame]>([])
        let peer = Mutex<[UInt8]?>(nil)
        let errors = Mutex<[String]>([])
        let closed: EventLoopPromise<Void>
        let established: EventLoopPromise<[UInt8]>

        init(on loop: any EventLoop) {
            closed = loop.makePromise()
            established = loop.makePromise()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            frames.withLock { $0.append(frame) }
            if case .ping(let nonce) = frame { context.writeAndFlush(wrapOutboundOut(.pong(nonce)), promise: nil) }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let done = event as? TLSChannelHandler.Established {
                peer.withLock { $0 = done.peerKey }
                established.succeed(done.peerKey)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            errors.withLock { $0.append("\(error)") }
            established.fail(error)
        }

        func channelInactive(context: ChannelHandlerContext) {
            established.fail(ChannelError.ioOnClosedChannel)
            closed.succeed()
        }
    }

    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// A listening node: each accepted link gets its own `Endpoint`, in `accepted`, in the order they came.
    final class Listener: Sendable {
        let channel: any Channel
        let port: Int
        let accepted: Accepted

        final class Accepted: Sendable {
            let ends = Mutex<[Endpoint]>([])
        }

        init(identity: TLSIdentity, accepting: @escaping @Sendable ([UInt8]) -> Bool) async throws {
            let accepted = Accepted()
            channel = try await ServerBootstrap(group: LinkChannelTests.group)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        let end = Endpoint(on: child.eventLoop)
                        accepted.ends.withLock { $0.append(end) }
                        try child.pipeline.syncOperations.addHandlers([
                            try TLSChannelHandler(role: .server, identity: identity, peer: .accepting(accepting)),
                            LinkFrameHandler(), end,
                        ])
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            port = try #require(channel.localAddress?.port)
            self.accepted = accepted
        }

        /// The `index`th accepted link's endpoint, once it exists.
        func end(_ index: Int) async throws -> Endpoint {
            for _ in 0..<2000 {
                if let end = accepted.ends.withLock({ $0.count > index ? $0[index] : nil }) { return end }
                try await Task.sleep(for: .milliseconds(5))
            }
            throw ChannelError.ioOnClosedChannel
        }
    }

    /// A link from `identity`, expecting the node key `expecting`, to `port`.
    static func dial(_ port: Int, identity: TLSIdentity, expecting: [UInt8]) async throws -> (end: Endpoint, channel: any Channel) {
        let end = Endpoint(on: group.next())
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        try TLSChannelHandler(role: .client, identity: identity, peer: .exactly(expecting)),
                        LinkFrameHandler(), end,
                    ])
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return (end, channel)
    }

    static func connect(server identity: TLSIdentity, accepting: @escaping @Sendable ([UInt8]) -> Bool,
                        client clientIdentity: TLSIdentity, expecting: [UInt8])
        async throws -> (server: Endpoint, client: Endpoint, clientChannel: any Channel, listener: any Channel)
    {
        let listener = try await Listener(identity: identity, accepting: accepting)
        let (client, channel) = try await dial(listener.port, identity: clientIdentity, expecting: expecting)
        return (try await listener.end(0), client, channel, listener.channel)
    }

    @Test func twoNodesExchangeFramesOverTLS() async throws {
        let a = try SigningKey.generate(), b = try SigningKey.generate()
        let allowed = a.publicKey
        let link = try await Self.connect(server: try TLSIdentity(key: b), accepting: { $0 == allowed },
                                          client: try TLSIdentity(key: a), expecting: b.publicKey)
        // Written before the handshake completes: it goes out after it.
        try await link.clientChannel.writeAndFlush(LinkFrame.hello(versions: LinkVersion.supported, maxFrame: 131_072, window: 64))
        try await link.clientChannel.writeAndFlush(LinkFrame.ping(7))
        #expect(try await link.client.established.futureResult.get() == b.publicKey)
        for _ in 0..<2000 where !link.client.frames.withLock({ $0.contains(.pong(7)) }) { try await Task.sleep(for: .milliseconds(5)) }
        #expect(link.client.frames.withLock { $0 } == [.pong(7)])
        #expect(link.server.frames.withLock { $0 }.first == .hello(versions: LinkVersion.supported, maxFrame: 131_072, window: 64))
        #expect(link.server.peer.withLock { $0 } == a.publicKey)
        try await link.clientChannel.close()
        try await link.server.closed.futureResult.get()
        try await link.listener.close()
    }

    @Test func aServerWithAnotherKeyClosesTheLinkWithARefusal() async throws {
        let a = try SigningKey.generate(), b = try SigningKey.generate(), impostor = try SigningKey.generate()
        let link = try await Self.connect(server: try TLSIdentity(key: impostor), accepting: { _ in true },
                                          client: try TLSIdentity(key: a), expecting: b.publicKey)
        await #expect(throws: (any Error).self) { try await link.client.established.futureResult.get() }
        try await link.client.closed.futureResult.get()
        #expect(link.client.errors.withLock { $0 }.contains { $0.contains("peer_refused") }, "\(link.client.errors.withLock { $0 })")
        try await link.listener.close()
    }

    @Test func aMalformedFrameFromAnAuthenticatedPeerClosesOnlyThatLink() async throws {
        let a = try SigningKey.generate(), b = try SigningKey.generate()
        let listener = try await Listener(identity: try TLSIdentity(key: b), accepting: { _ in true })
        let good = try await Self.dial(listener.port, identity: try TLSIdentity(key: try SigningKey.generate()), expecting: b.publicKey)
        _ = try await good.end.established.futureResult.get()
        let bad = try await Self.dial(listener.port, identity: try TLSIdentity(key: a), expecting: b.publicKey)
        _ = try await bad.end.established.futureResult.get()
        // Below the frame handler: raw plaintext bytes that announce a frame of kind 99.
        let raw = try await bad.channel.pipeline.context(handlerType: LinkFrameHandler.self).get()
        try await bad.channel.eventLoop.submit {
            raw.writeAndFlush(NIOAny(raw.channel.allocator.buffer(bytes: [1, 0, 0, 0, 99])), promise: nil)
        }.get()
        let badServer = try await listener.end(1)
        try await badServer.closed.futureResult.get()
        #expect(badServer.errors.withLock { $0 }.contains { $0.contains("unknown_kind") }, "\(badServer.errors.withLock { $0 })")
        // The other peer's link on the same listener carries on.
        try await good.channel.writeAndFlush(LinkFrame.ping(1))
        for _ in 0..<2000 where !good.end.frames.withLock({ $0.contains(.pong(1)) }) { try await Task.sleep(for: .milliseconds(5)) }
        #expect(good.end.frames.withLock { $0 } == [.pong(1)])
        try await good.channel.close()
        try await listener.channel.close()
    }
}
