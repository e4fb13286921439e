import SynWire

/// Turns the bytes of a link (after TLS) into frames. It holds at most one frame's worth of bytes: a peer that
/// announces a frame past `maxFrame`, or sends anything malformed, gets an error, and the link is closed.
public struct LinkFrameDecoder: Sendable {
    /// The largest frame (kind and payload) accepted: this node's limit, lowered to the peer's hello if smaller.
    public var maxFrame: Int
    private var buffer: [UInt8] = []
    private var start = 0

    public init(maxFrame: Int = LinkFrame.defaultMaxFrame) { self.maxFrame = maxFrame }

    /// Bytes waiting for the rest of their frame.
    public var buffered: Int { buffer.count - start }

    public mutating func push(_ bytes: some Sequence<UInt8>) { buffer.append(contentsOf: bytes) }

    /// The next whole frame, or nil until more bytes arrive.
    public mutating func next() throws(LinkError) -> LinkFrame? {
        guard buffered >= LinkFrame.headerSize else { return nil }
        let length = Int(UInt32(buffer[start]) | UInt32(buffer[start + 1]) << 8 | UInt32(buffer[start + 2]) << 16 | UInt32(buffer[start + 3]) << 24)
        guard length >= 1 else { throw LinkError(.malformed, "a frame of length 0 has no kind") }
        guard length <= maxFrame else { throw LinkError(.oversized, "a frame of \(length) bytes is past this link's \(maxFrame)") }
        guard buffered >= 4 + length else { return nil }
        let kind = buffer[start + 4]
        let payload = Array(buffer[(start + 5)..<(start + 4 + length)])
        start += 4 + length
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 2 * maxFrame)
            start = 0
        } else if start > 65536 {
            buffer.removeFirst(start)
            start = 0
        }
        return try LinkFrame.decode(kind: kind, payload: payload)
    }
}
