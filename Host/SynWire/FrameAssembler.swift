/// Turns received packets into whole frames, enforcing the packet format and the message size limit.
///
/// Treats every byte as hostile: a short packet, a length that disagrees with the packet, an unknown kind,
/// unknown flags, a fragment that does not continue its message, or a message over `maxMessage` all throw.
public struct FrameAssembler: Sendable {
    /// The largest payload a whole message may reach.
    public let maxMessage: Int
    private var partial: Frame?

    public init(maxMessage: Int) { self.maxMessage = maxMessage }

    /// A validated packet: its header fields and a view of its payload.
    public struct Packet {
        public let kind: FrameKind
        public let flags: UInt16
        public let requestID: UInt64
        public let op: UInt32
        public let payload: UnsafeRawBufferPointer
        public var isWhole: Bool { flags & Frame.flagMore == 0 }
    }

    /// Validates one packet's header against its length; throws on anything malformed.
    public func parse(_ packet: UnsafeRawBufferPointer) throws(WireError) -> Packet {
        guard packet.count >= Frame.headerSize else {
            throw WireError(.truncated, "packet of \(packet.count) bytes is shorter than the 20-byte header")
        }
        guard packet.count <= Frame.headerSize + Frame.maxPacket else {
            throw WireError(.oversized, "packet exceeds \(Frame.maxPacket) payload bytes")
        }
        let length = Int(packet.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian)
        guard length == packet.count else {
            throw WireError(.truncated, "header says \(length) bytes but the packet has \(packet.count)")
        }
        let rawKind = packet.loadUnaligned(fromByteOffset: 4, as: UInt16.self).littleEndian
        guard let kind = FrameKind(rawValue: rawKind) else {
            throw WireError(.unknownKind, "unknown frame kind \(rawKind)")
        }
        let flags = packet.loadUnaligned(fromByteOffset: 6, as: UInt16.self).littleEndian
        guard flags & ~Frame.flagMore == 0 else { throw WireError(.badFragment, "unknown frame flags \(flags)") }
        return Packet(kind: kind, flags: flags,
                      requestID: packet.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian,
                      op: packet.loadUnaligned(fromByteOffset: 16, as: UInt32.self).littleEndian,
                      payload: UnsafeRawBufferPointer(rebasing: packet[Frame.headerSize...]))
    }

    /// Whether `packet` is a whole message that needs no reassembly (and fits the message limit).
    public func isStandalone(_ packet: Packet) -> Bool {
        partial == nil && packet.isWhole && packet.payload.count <= maxMessage
    }

    /// Feeds one packet; returns a frame when its last fragment arrives.
    public mutating func feed(_ packet: UnsafeRawBufferPointer) throws(WireError) -> Frame? {
        try feed(parse(packet))
    }

    /// Feeds one parsed packet; returns a frame when its last fragment arrives.
    public mutating func feed(_ p: Packet) throws(WireError) -> Frame? {
        let kind = p.kind, flags = p.flags, requestID = p.requestID, op = p.op, body = p.payload
        if var current = partial {
            guard current.kind == kind, current.requestID == requestID, current.op == op else {
                throw WireError(.badFragment, "fragment of \(kind) #\(requestID) interrupts \(current.kind) #\(current.requestID)")
            }
            guard current.payload.count + body.count <= maxMessage else {
                throw WireError(.oversized, "message exceeds \(maxMessage) bytes")
            }
            partial = nil
            current.payload.append(contentsOf: body)
            if flags & Frame.flagMore != 0 { partial = current; return nil }
            return current
        }
        guard body.count <= maxMessage else { throw WireError(.oversized, "message exceeds \(maxMessage) bytes") }
        let frame = Frame(kind: kind, requestID: requestID, op: op, payload: Array(body))
        if flags & Frame.flagMore != 0 { partial = frame; return nil }
        return frame
    }

    /// Whether a message is half received.
    public var isMidMessage: Bool { partial != nil }
}
