public import NIOCore
public import SynTLS

/// Runs a `TLSSession` over a NIO channel: ciphertext below, plaintext above. The handshake starts when the
/// channel becomes active (the client speaks first); once it completes, `TLSChannelHandler.Established` carries the
/// peer's node key up the pipeline, and writes made before then go out after it. Any TLS failure (a refused key,
/// garbage, a handshake past `handshakeTimeout`) closes the channel after an `errorCaught` with the `TLSError`.
public final class TLSChannelHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// The handshake completed with the peer whose node key this is.
    public struct Established: Sendable {
        public let peerKey: [UInt8]
    }

    private let session: TLSSession
    private let role: TLSSession.Role
    private let handshakeTimeout: TimeAmount
    private var timeout: Scheduled<Void>?
    /// Plaintext written before the handshake completed.
    private var pending: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var failed = false

    public init(role: TLSSession.Role, identity: TLSIdentity, peer: PeerPolicy,
                handshakeTimeout: TimeAmount = .seconds(10)) throws(TLSError) {
        session = try TLSSession(role: role, identity: identity, peer: peer)
        self.role = role
        self.handshakeTimeout = handshakeTimeout
    }

    /// Runs `session` (a web client's, for instance), whichever its role.
    public init(session: TLSSession, role: TLSSession.Role, handshakeTimeout: TimeAmount = .seconds(10)) {
        self.session = session
        self.role = role
        self.handshakeTimeout = handshakeTimeout
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
        for (_, promise) in pending { promise?.fail(ChannelError.ioOnClosedChannel) }
        pending = []
    }

    private func start(context: ChannelHandlerContext) {
        guard timeout == nil, !session.isHandshakeComplete else { return }
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: handshakeTimeout) { [self] in
            fail(TLSError(.handshake, "no handshake within \(handshakeTimeout.nanoseconds / 1_000_000) ms"), context: context)
        }
        if role == .client { step(context: context) }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let buffer = unwrapInboundIn(data)
        session.receive(buffer.readableBytesView)
        step(context: context)
    }

    /// Moves the handshake on, then passes up what decrypts, and sends what the session has to say.
    private func step(context: ChannelHandlerContext) {
        do throws(TLSError) {
            if !session.isHandshakeComplete {
                guard try session.handshake() else { return sendPending(context: context) }
                timeout?.cancel()
                sendPending(context: context)
                if let key = session.peerKey { context.fireUserInboundEventTriggered(Established(peerKey: key)) }
                let waiting = pending
                pending = []
                for (buffer, promise) in waiting { write(buffer, promise: promise, context: context) }
                context.flush()
            }
            var read = false
            // GnuTLS may stop after a post-handshake message with records behind it: read on while bytes remain
            // (a bounded number of times, so a session that never consumes them cannot spin).
            var stalls = 0
            loop: while context.channel.isActive {
                switch try session.read() {
                case .data(let bytes):
                    read = true
                    stalls = 0
                    context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: bytes)))
                case .wouldBlock:
                    stalls += 1
                    guard session.hasBufferedInput, stalls < 64 else { break loop }
                case .closed:
                    sendPending(context: context)
                    context.close(promise: nil)
                    return
                }
            }
            if read { context.fireChannelReadComplete() }
            sendPending(context: context)
        } catch {
            fail(error, context: context)
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        guard session.isHandshakeComplete else {
            pending.append((buffer, promise))
            return
        }
        write(buffer, promise: promise, context: context)
    }

    private func write(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        do throws(TLSError) {
            try session.send(Array(buffer.readableBytesView))
            context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: session.takeOutput())), promise: promise)
        } catch {
            promise?.fail(error)
            fail(error, context: context)
        }
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all && !failed && session.isHandshakeComplete {
            session.close()
            sendPending(context: context)
        }
        context.close(mode: mode, promise: promise)
    }

    private func sendPending(context: ChannelHandlerContext) {
        let out = session.takeOutput()
        guard !out.isEmpty else { return }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: out)), promise: nil)
    }

    private func fail(_ error: TLSError, context: ChannelHandlerContext) {
        guard !failed else { return }
        failed = true
        timeout?.cancel()
        // A refusal still sends the alert GnuTLS wrote, so the peer learns why.
        sendPending(context: context)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}
