import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import SynConfig
@testable import SynGateway
import Synchronization
import Testing

/// The app-call handler's connection rules, driven on an `EmbeddedChannel` with the event loop's clock in the
/// test's hands: no socket and no timing. The app stands in as `HeldApp`, whose calls the test answers.
@Suite struct AppCallHandlerTests {
    /// An app whose calls wait until the test answers them.
    final class HeldApp: AppCallService {
        let settings: GatewaySettings
        private let pending = Mutex<[(method: String, complete: @Sendable (Result<AppAnswer, APIError>) -> Void)]>([])

        init(requestTimeoutMs: Int = 30_000, maxBodyKB: Int = 1) {
            var s = GatewaySettings()
            s.requestTimeoutMs = requestTimeoutMs
            s.maxBodyKB = maxBodyKB
            settings = s
        }

        func call(_ request: HTTPRequest, app: String, method: String, body: [UInt8], requestID: String,
                  client: SocketAddress?, settlement: CallSettlement,
                  complete: @escaping @Sendable (Result<AppAnswer, APIError>) -> Void) {
            pending.withLock { $0.append((method, { result in if settlement.settle() { complete(result) } })) }
        }

        func timedOut(app: String) -> APIError { APIError(.gatewayTimeout, "gateway_timeout", "no answer from '\(app)'") }
        func finished(status: Int, duration: Duration) {}

        var methods: [String] { pending.withLock { $0.map(\.method) } }

        /// Answers the oldest call with `body`.
        func answer(_ body: String = "{}") {
            let next = pending.withLock { $0.isEmpty ? nil : $0.removeFirst() }
            next?.complete(.success(AppAnswer(status: .ok, headers: [:], body: Array(body.utf8))))
        }
    }

    /// Stands for the router: records what reaches it, and answers when told.
    final class Router: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPRequestPart
        typealias OutboundOut = HTTPResponsePart
        var heads: [String] = []
        var events: [String] = []
        var context: ChannelHandlerContext?

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head(let request) = unwrapInboundIn(data) { heads.append(request.path ?? "") }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) { events.append("\(type(of: event))") }

        func answer() {
            guard let context else { return }
            context.write(wrapOutboundOut(.head(HTTPResponse(status: .ok))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    struct Connection {
        let channel: EmbeddedChannel
        let app: HeldApp
        let router: Router
        let loop: EmbeddedEventLoop

        init(app: HeldApp = HeldApp(), idleTimeout: TimeAmount = .seconds(10)) throws {
            self.app = app
            router = Router()
            loop = EmbeddedEventLoop()
            channel = EmbeddedChannel(loop: loop)
            try channel.pipeline.syncOperations.addHandler(AppCallHandler(calls: app, logger: Logger(label: "test"), idleTimeout: idleTimeout))
            try channel.pipeline.syncOperations.addHandler(router)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        func send(_ method: HTTPRequest.Method, _ path: String, headers: HTTPFields = [:], body: String? = nil, end: Bool = true) throws {
            try channel.writeInbound(HTTPRequestPart.head(HTTPRequest(method: method, scheme: nil, authority: "node", path: path, headerFields: headers)))
            if let body { try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: body))) }
            if end { try channel.writeInbound(HTTPRequestPart.end(nil)) }
        }

        /// The response heads written so far.
        func responses() throws -> [HTTPResponse] {
            var heads: [HTTPResponse] = []
            while let part = try channel.readOutbound(as: HTTPResponsePart.self) {
                if case .head(let head) = part { heads.append(head) }
            }
            return heads
        }
    }

    @Test func anAnswerOwedKeepsAQuietConnectionOpen() throws {
        let c = try Connection(idleTimeout: .seconds(10))
        try c.send(.post, "/v1/apps/slow/work", body: "{}")
        #expect(c.app.methods == ["work"])
        c.loop.advanceTime(by: .seconds(25))
        #expect(c.channel.isActive, "closed while the app's answer was owed")
        c.app.answer()
        c.loop.run()
        #expect(try c.responses().map(\.status) == [.ok])
        c.loop.advanceTime(by: .seconds(11))
        #expect(!c.channel.isActive, "a quiet connection with nothing owed stays open past idle_timeout_s")
    }

    @Test func aSlowAppIsAnswered504AndItsLateAnswerIsDropped() throws {
        let c = try Connection(app: HeldApp(requestTimeoutMs: 500))
        try c.send(.post, "/v1/apps/slow/work", body: "{}")
        c.loop.advanceTime(by: .milliseconds(499))
        #expect(try c.responses().isEmpty)
        c.loop.advanceTime(by: .milliseconds(1))
        #expect(try c.responses().map(\.status) == [.gatewayTimeout])
        c.app.answer()
        c.loop.run()
        #expect(try c.responses().isEmpty, "the app's late answer was sent after the 504")
        #expect(c.channel.isActive)
    }

    @Test func anAppCallWaitsForTheRoutersAnswersAhead() throws {
        let c = try Connection()
        try c.send(.get, "/v1/health")
        try c.send(.post, "/v1/apps/echo/hi", body: "{}")
        #expect(c.router.heads == ["/v1/health"])
        #expect(c.app.methods.isEmpty, "the app call went ahead of the router's answer")
        c.router.answer()
        c.loop.run()
        #expect(c.app.methods == ["hi"])
        c.app.answer()
        c.loop.run()
        #expect(try c.responses().map(\.status) == [.ok, .ok])
    }

    @Test func requestsBehindAnAppCallWaitForItsAnswer() throws {
        let c = try Connection()
        try c.send(.post, "/v1/apps/echo/hi", body: "{}")
        try c.send(.get, "/v1/health")
        #expect(c.router.heads.isEmpty, "a request overtook the app call")
        c.app.answer()
        c.loop.run()
        #expect(c.router.heads == ["/v1/health"])
    }

    @Test func aShutdownDuringACallClosesAfterItsAnswer() throws {
        let c = try Connection()
        try c.send(.post, "/v1/apps/echo/hi", body: "{}")
        c.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(c.router.events.isEmpty, "the router was told to close with an app call in progress")
        try c.send(.get, "/v1/health")
        c.app.answer()
        c.loop.run()
        let responses = try c.responses()
        #expect(responses.map(\.status) == [.ok])
        #expect(responses.first?.headerFields[.connection] == "close")
        #expect(c.router.heads.isEmpty, "a request behind the call was served during the shutdown")
        c.loop.advanceTime(by: AppCallHandler.linger)
        #expect(!c.channel.isActive)
    }

    @Test func anOversizedBodyIs413AndNothingAfterItIsServed() throws {
        let c = try Connection(app: HeldApp(maxBodyKB: 1))
        try c.send(.post, "/v1/apps/echo/hi", headers: [.contentLength: "4096"], end: false)
        #expect(try c.responses().map(\.status) == [.contentTooLarge])
        try c.channel.writeInbound(HTTPRequestPart.body(ByteBuffer(repeating: 0x20, count: 4096)))
        try c.channel.writeInbound(HTTPRequestPart.end(nil))
        try c.send(.get, "/v1/health")
        #expect(c.app.methods.isEmpty)
        #expect(c.router.heads.isEmpty)
    }

    @Test func aBodyThatGrowsPastTheLimitIs413() throws {
        let c = try Connection(app: HeldApp(maxBodyKB: 1))
        try c.send(.post, "/v1/apps/echo/hi", end: false)
        for _ in 0..<3 { try c.channel.writeInbound(HTTPRequestPart.body(ByteBuffer(repeating: 0x20, count: 400))) }
        #expect(try c.responses().map(\.status) == [.contentTooLarge])
        #expect(c.app.methods.isEmpty)
    }

    @Test func aClientThatStallsMidRequestIsClosed() throws {
        let c = try Connection(idleTimeout: .seconds(10))
        try c.send(.post, "/v1/apps/echo/hi", end: false)
        c.loop.advanceTime(by: .seconds(9))
        #expect(c.channel.isActive)
        c.loop.advanceTime(by: .seconds(1))
        #expect(!c.channel.isActive)
        #expect(c.app.methods.isEmpty)
    }

    @Test func aHalfCloseMidRequestAbandonsTheCallAndReachesTheRouter() throws {
        let c = try Connection()
        try c.send(.post, "/v1/apps/echo/hi", end: false)
        c.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(c.app.methods.isEmpty)
        #expect(c.router.events == ["ChannelEvent"])
    }

    @Test func aHalfCloseAfterAWholeCallStillGetsItsAnswer() throws {
        let c = try Connection()
        try c.send(.post, "/v1/apps/echo/hi", body: "{}")
        c.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(c.router.events.isEmpty, "the router would close before the app's answer")
        c.app.answer()
        c.loop.run()
        #expect(try c.responses().map(\.status) == [.ok])
        #expect(c.router.events == ["ChannelEvent"])
    }

    @Test func connectionCloseOnAnAppCallClosesAfterTheAnswer() throws {
        let c = try Connection()
        try c.send(.post, "/v1/apps/echo/hi", headers: [.connection: "close"], body: "{}")
        try c.send(.get, "/v1/health")
        c.app.answer()
        c.loop.run()
        #expect(try c.responses().first?.headerFields[.connection] == "close")
        #expect(c.router.heads.isEmpty)
    }
}
