/// A received message whose payload is borrowed from the link's buffer (valid only while it is handed out).
public struct FrameView {
    public let kind: FrameKind
    public let requestID: UInt64
    public let op: UInt32
    public let payload: UnsafeRawBufferPointer

    public init(kind: FrameKind, requestID: UInt64, op: UInt32, payload: UnsafeRawBufferPointer) {
        self.kind = kind
        self.requestID = requestID
        self.op = op
        self.payload = payload
    }
}
