/// One logical message on the link. On the wire it is one or more packets (fragments).
///
/// Header, little-endian: `u32 length | u16 kind | u16 flags | u64 request_id | u32 op`, then the payload.
/// `length` counts the header. A message larger than one packet is split; every fragment but the last carries
/// `Frame.flagMore` and repeats kind, request id and op.
public struct Frame: Sendable, Equatable {
    public static let headerSize = 20
    /// Set on every fragment except the last one of a message.
    public static let flagMore: UInt16 = 1
    /// The largest packet either side sends; fits the default unix socket buffer.
    public static let maxPacket = 32 * 1024

    public var kind: FrameKind
    public var requestID: UInt64
    public var op: UInt32
    public var payload: [UInt8]

    public init(kind: FrameKind, requestID: UInt64 = 0, op: UInt32 = 0, payload: [UInt8] = []) {
        self.kind = kind
        self.requestID = requestID
        self.op = op
        self.payload = payload
    }

    /// Writes the header for a packet carrying `payloadCount` bytes into `buffer` (replacing its contents).
    @inlinable
    public static func writeHeader(into buffer: inout [UInt8], kind: FrameKind, flags: UInt16, requestID: UInt64,
                                   op: UInt32, payloadCount: Int) {
        let total = UInt32(truncatingIfNeeded: headerSize + payloadCount)
        buffer.removeAll(keepingCapacity: true)
        appendLE(&buffer, total)
        appendLE(&buffer, kind.rawValue)
        appendLE(&buffer, flags)
        appendLE(&buffer, requestID)
        appendLE(&buffer, op)
    }

    @inlinable
    static func appendLE<T: FixedWidthInteger>(_ buffer: inout [UInt8], _ value: T) {
        var v = value.littleEndian
        withUnsafeBytes(of: &v) { buffer.append(contentsOf: $0) }
    }
}
