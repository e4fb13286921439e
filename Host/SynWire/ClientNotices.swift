/// Client notices one call queued (`msg_publish` on `client.<person>`), handed to the host after the call committed
/// in one `hostCall` (op `HostOp.notices`). The host checks each again (grant, topic, payload) and passes them to
/// the person's open streams; a call that rolls back hands over none.
public struct ClientNotices: Sendable, Equatable {
    /// The topics' first segment: `client.` then the person's ed25519 public key as 64 lowercase hex digits.
    public static let prefix = "client."
    /// Most listeners the host names to a worker (the node's streams are bounded by `[gateway] max_streams`).
    public static let maxListeners = 4096
    /// Most notices one call queues.
    public static let maxCount = 256
    /// Most payload bytes one call queues (each payload is also at most 64 KiB, as every `msg_publish`'s).
    public static let maxBytes = 1 << 20
    /// Bytes of the batch besides its payloads: the count, and per notice the lengths and the topic.
    public static let perNoticeOverhead = 8 + 7 + 64

    public var notices: [(topic: [UInt8], payload: [UInt8])]

    public init(_ notices: [(topic: [UInt8], payload: [UInt8])] = []) { self.notices = notices }

    public static func == (a: ClientNotices, b: ClientNotices) -> Bool {
        a.notices.count == b.notices.count
            && zip(a.notices, b.notices).allSatisfy { $0.topic == $1.topic && $0.payload == $1.payload }
    }

    /// Whether `topic` names a client notice (its first segment is `client`).
    public static func isClientTopic(_ topic: some Collection<UInt8>) -> Bool {
        topic.count >= prefix.utf8.count && topic.prefix(prefix.utf8.count).elementsEqual(prefix.utf8)
    }

    public func encode() -> [UInt8] {
        var w = WireWriter()
        w.u32(UInt32(notices.count))
        for n in notices { w.data(n.topic); w.data(n.payload) }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> ClientNotices {
        var r = WireReader(bytes)
        let count = Int(try r.u32())
        guard count <= maxCount else { throw WireError(.badPayload, "a call hands over at most \(maxCount) client notices") }
        var out = ClientNotices()
        out.notices.reserveCapacity(count)
        var total = 0
        for _ in 0..<count {
            let topic = try r.data(limit: 256), payload = try r.data(limit: 64 << 10)
            total += payload.count
            guard total <= maxBytes else { throw WireError(.badPayload, "a call's client notices hold at most \(maxBytes) bytes") }
            out.notices.append((topic, payload))
        }
        guard r.remaining == 0 else { throw WireError(.badPayload, "bytes after the client notices") }
        return out
    }
}
