public import NIOCore

/// Link frames over the plaintext of a `TLSChannelHandler`: bytes in, `LinkFrame`s up; `LinkFrame`s down, bytes
/// out. A malformed or oversized frame is a `LinkError` on `errorCaught`, and the channel closes: one peer's bad
/// bytes end its own link only.
public final class LinkFrameHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = LinkFrame
    public typealias OutboundIn = LinkFrame
    public typealias OutboundOut = ByteBuffer

    private var decoder: LinkFrameDecoder
    private var failed = false

    public init(maxFrame: Int = LinkFrame.defaultMaxFrame) { decoder = LinkFrameDecoder(maxFrame: maxFrame) }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        decoder.push(unwrapInboundIn(data).readableBytesView)
        do throws(LinkError) {
            // A handler above may close the link mid-read: the rest of the read is then dropped.
            while context.channel.isActive, let frame = try decoder.next() { context.fireChannelRead(wrapInboundOut(frame)) }
        } catch {
            failed = true
            context.fireErrorCaught(error)
            context.close(promise: nil)
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: frame.encoded())), promise: promise)
    }
}
