import NIOCore
import NIOPosix
@testable import SynBroker
import SynConfig
@testable import SynFederation
import SynLink
import SynSodium
import SynTLS
import SynTestSupport
import Synchronization
import Testing

/// Nodes' link services over real TCP on loopback, each with its own data directory (peers and witness heads in
/// its own node.db): links come up with the added peers, ping, exchange audit heads, and refuse strangers.
@Suite struct LinkServiceTests {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)

    final class AuditLines: Sendable {
        let lines = Mutex<[String]>([])
    }

    /// One node: its key, its stores, its audit entries, and its link service listening on a loopback port.
    final class Node: Sendable {
        let key: SigningKey
        let dir = TempDir("federation")
        let service: LinkService
        let port: Int
        let audit = AuditLines()
        var id: String { Base64URL.encode(key.publicKey) }

        init(accept: [String] = [], maxFramesPerSecond: Int = 5000, pingInterval: TimeAmount = .milliseconds(200),
             window: Int = 256, inbox: (any PeerInbox)? = nil) async throws {
            let key = try SigningKey.generate()
            self.key = key
            var settings = FederationSettings()
            settings.listen = "127.0.0.1:0"
            settings.accept = accept
            settings.maxFramesPerSecond = maxFramesPerSecond
            settings.window = window
            let audit = self.audit
            let head = AuditHead(seq: 42, timeNs: 1, hash: [UInt8](repeating: 9, count: 32), sign: { key.sign(domain: .node, $0) })
            service = LinkService(identity: try TLSIdentity(key: key), settings: settings,
                                  peers: try PeerStore(path: dir.file("node.db")), witnesses: try WitnessStore(path: dir.file("node.db")),
                                  group: LinkServiceTests.group, pingInterval: pingInterval, inbox: inbox,
                                  head: { head }, audit: { action, peer, cause in audit.lines.withLock { $0.append("\(action) \(peer) \(cause)") } })
            port = try #require(try await service.start())
        }

        var address: PeerAddress { PeerAddress(nodeID: id, host: "127.0.0.1", port: port) }

        /// Waits (bounded) until `condition` holds.
        func wait(_ condition: () -> Bool) async throws -> Bool {
            for _ in 0..<6000 {
                if condition() { return true }
                try await Task.sleep(for: .milliseconds(10))
            }
            return condition()
        }

        func state(of other: Node) -> LinkState? { service.states().first { $0.nodeID == other.id } }
    }

    @Test func twoPeersLinkPingAndWitnessEachOther() async throws {
        let a = try await Node(), b = try await Node()
        try a.service.peers.add(b.address, name: "b", nowNs: 1)
        try b.service.peers.add(a.address, name: "a", nowNs: 1)
        a.service.dial(b.address)
        b.service.dial(a.address)
        #expect(try await a.wait { a.state(of: b)?.phase == .connected && a.state(of: b)?.rttMs != nil }, "\(a.service.states())")
        #expect(try await b.wait { b.service.witnesses.head(of: a.key.publicKey)?.seq == 42 })
        #expect(try await a.wait { a.service.witnesses.head(of: b.key.publicKey)?.seq == 42 })
        // Both dialled: one link stays, the one dialled by the node with the smaller id.
        #expect(try await a.wait { a.state(of: b)?.outbound == (a.id < b.id) })
        #expect(a.audit.lines.withLock { $0 }.contains { $0.hasPrefix("link.up \(b.id)") })
        await a.service.stop()
        #expect(try await b.wait { b.state(of: a)?.phase != .connected })
        await b.service.stop()
    }

    @Test func aNodeThatIsNotAPeerIsRefusedAndAudited() async throws {
        let b = try await Node(), stranger = try await Node()
        stranger.service.dial(b.address)
        #expect(try await b.wait { b.audit.lines.withLock { $0 }.contains { $0.hasPrefix("link.refused") } }, "\(b.audit.lines.withLock { $0 })")
        #expect(b.state(of: stranger) == nil)
        #expect(try await stranger.wait { stranger.state(of: b)?.phase == .backoff })
        await stranger.service.stop()
        await b.service.stop()
    }

    @Test func federationAcceptLetsAnUnknownNodeIn() async throws {
        let stranger = try await Node()
        let b = try await Node(accept: ["*"])
        stranger.service.dial(b.address)
        #expect(try await b.wait { b.state(of: stranger)?.phase == .connected }, "\(b.service.states())")
        await stranger.service.stop()
        await b.service.stop()
    }

    /// A peer that floods frames loses its link; another peer's link carries on.
    @Test func aFloodingPeerLosesOnlyItsOwnLink() async throws {
        // Pings a minute apart: the flooder answers none, and three missed pings would close its link first.
        let b = try await Node(accept: ["*"], maxFramesPerSecond: 100, pingInterval: .seconds(60))
        let calm = try await Node()
        calm.service.dial(b.address)
        #expect(try await b.wait { b.state(of: calm)?.phase == .connected })
        let flooder = try SigningKey.generate()
        let established = Self.group.next().makePromise(of: Void.self)
        let channel = try await ClientBootstrap(group: Self.group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        try TLSChannelHandler(role: .client, identity: try TLSIdentity(key: flooder), peer: .exactly(b.key.publicKey),
                                              handshakeTimeout: .seconds(120)),
                        LinkFrameHandler(), Established(established),
                    ])
                }
            }
            .connect(host: "127.0.0.1", port: b.port).get()
        // The flood starts once the link is up, however long a loaded machine takes to get there.
        try await established.futureResult.get()
        channel.write(LinkFrame.hello(versions: LinkVersion.supported, maxFrame: 128 * 1024, window: 16), promise: nil)
        for i in 0..<2000 { channel.write(LinkFrame.ping(UInt64(i)), promise: nil) }
        channel.flush()
        try await channel.closeFuture.get()
        let flooderID = Base64URL.encode(flooder.publicKey)
        #expect(try await b.wait { b.audit.lines.withLock { $0 }.contains { $0.hasPrefix("link.flood \(flooderID)") } })
        // The calm peer was never blamed for the flood, and its link is up (on a loaded machine it may have been
        // redialled after missed pings, which is not the flood's doing).
        let calmID = Base64URL.encode(calm.key.publicKey)
        #expect(!b.audit.lines.withLock { $0 }.contains { $0.hasPrefix("link.flood \(calmID)") })
        #expect(try await b.wait { b.state(of: calm)?.phase == .connected })
        await calm.service.stop()
        await b.service.stop()
    }

    /// Fulfils a promise when TLS has established the link.
    final class Established: ChannelInboundHandler, Sendable {
        typealias InboundIn = LinkFrame
        let promise: EventLoopPromise<Void>
        init(_ promise: EventLoopPromise<Void>) { self.promise = promise }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is TLSChannelHandler.Established { promise.succeed() }
        }
        func channelInactive(context: ChannelHandlerContext) { promise.fail(ChannelError.ioOnClosedChannel) }
    }

    /// Anyone who reaches the port can be refused: refusals are audited ten a minute, then counted.
    @Test func refusalsCannotFillTheAuditLog() async throws {
        let b = try await Node()
        for i in 0..<200 { b.service.audit("link.refused", "stranger-\(i)", "not a peer") }
        let lines = b.audit.lines.withLock { $0 }.filter { $0.hasPrefix("link.refused") }
        #expect(lines.count == LinkService.refusalsPerMinute || lines.count == 2 * LinkService.refusalsPerMinute, "\(lines.count)")
        await b.service.stop()
    }

    @Test func peerAddressesAreParsedStrictly() throws {
        let id = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"
        #expect(try PeerAddress(parsing: "\(id)@192.168.1.20:7421") == PeerAddress(nodeID: id, host: "192.168.1.20", port: 7421))
        #expect(try PeerAddress(parsing: "\(id)@[::1]:7421").host == "::1")
        #expect(try PeerAddress(parsing: "\(id)@guild.example:7421").description == "\(id)@guild.example:7421")
        for bad in ["\(id)", "short@host:1", "\(id)@host", "\(id)@host:0", "\(id)@host:99999", "\(id)@ho st:1", "\(id)@host:1/x"] {
            #expect(throws: FederationError.self, "\(bad)") { try PeerAddress(parsing: bad) }
        }
    }
}
