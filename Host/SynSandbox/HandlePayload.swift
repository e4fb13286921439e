import SynWire

/// The payload of a `call` frame, written straight into the link's send buffer.
///
/// For `handle` it is `[u32 len][method][u32 len][caller][u32 len][origin][u64 deadline][body]` (origin: the app
/// that made an app-to-app call, empty otherwise; deadline: that app's deadline on the system's monotonic clock, which
/// host and worker share, 0 for none); for other calls a raw byte string.
struct HandlePayload {
    private let method: [UInt8]
    /// The verified caller (empty for anonymous calls and for non-`handle` calls).
    let caller: [UInt8]
    private let origin: [UInt8]
    /// The gateway's request id, for audit entries and logs (not sent to the worker).
    var tag = ""
    /// The apps an app-to-app call came through, and the deadline it inherited (not sent).
    var via: [String] = []
    var deadlineNs: Int64?
    private let body: [UInt8]
    private let framed: Bool

    init(method: [UInt8], caller: [UInt8], origin: [UInt8] = [], body: [UInt8]) {
        self.method = method
        self.caller = caller
        self.origin = origin
        self.body = body
        framed = true
    }

    init(raw: [UInt8]) {
        method = []
        caller = []
        origin = []
        body = raw
        framed = false
    }

    var count: Int { framed ? 20 + method.count + caller.count + origin.count + body.count : body.count }

    func write(into out: UnsafeMutableRawBufferPointer) {
        var offset = 0
        func put(_ bytes: [UInt8], prefixed: Bool) {
            if prefixed {
                out.storeBytes(of: UInt32(bytes.count).littleEndian, toByteOffset: offset, as: UInt32.self)
                offset += 4
            }
            bytes.withUnsafeBytes { src in
                if src.count > 0 { UnsafeMutableRawBufferPointer(rebasing: out[offset..<offset + src.count]).copyMemory(from: src) }
            }
            offset += bytes.count
        }
        if framed {
            put(method, prefixed: true)
            put(caller, prefixed: true)
            put(origin, prefixed: true)
            let deadline = UInt64(clamping: max(deadlineNs ?? 0, 0))
            out.storeBytes(of: deadline.littleEndian, toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        put(body, prefixed: false)
    }
}
