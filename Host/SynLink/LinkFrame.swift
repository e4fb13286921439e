import SynConfig
import SynWire

/// One frame of the node-link protocol, inside TLS: `u32 length | u8 kind | payload`, the length counting the kind
/// and the payload, integers little-endian, byte strings and text length-prefixed (`WireWriter`). Every field is
/// bounded, text is UTF-8, and a payload with bytes left over is malformed.
public enum LinkFrame: Equatable, Sendable {
    /// The first frame each side sends: the protocol versions it speaks, the largest frame it accepts, and how many
    /// unacknowledged messages it lets the other side have in flight.
    case hello(versions: [UInt16], maxFrame: UInt32, window: UInt32)
    /// A durable message from app `app` on the sender to the same app here, `seq` counting per (peer, app) from 1.
    case message(app: String, seq: UInt64, payload: [UInt8])
    /// Every message of `app` up to `seq` is applied here and will never be applied again.
    case ack(app: String, seq: UInt64)
    /// `app` here wants the sender's ephemeral messages on `topic` (and no longer, with `unsubscribe`).
    case subscribe(app: String, topic: String)
    case unsubscribe(app: String, topic: String)
    /// An ephemeral message: delivered if someone listens, never stored.
    case publish(app: String, topic: String, payload: [UInt8])
    case ping(UInt64)
    case pong(UInt64)
    /// The sender's latest signed audit head (`AuditHead.text`), which this side keeps as a witness.
    case auditHead(String)
    /// The sender closes the link, saying why.
    case close(reason: String)
    /// Asks which of the sender's audit heads this side holds as a witness (`syneroym audit verify`).
    case headQuery(UInt64)
    /// The answer: the asker's latest head held here (`AuditHead.text`), empty when none.
    case heldHead(nonce: UInt64, head: String)
    /// Link version 2: the sender offers app `app`'s bundle, `size` bytes whose SHA-256 is `digest`, encrypted under
    /// `key`, as transfer `id` (`apps migrate`). Sent again on every new link until it is answered by `transferEnd`.
    case transferOffer(id: UInt64, app: String, size: UInt64, digest: [UInt8], key: [UInt8])
    /// The receiver holds the first `have` bytes of transfer `id`: in answer to an offer, where to go on from; later,
    /// how far it has written (the sender keeps at most `transferWindow` bytes past it in flight).
    case transferAt(id: UInt64, have: UInt64)
    /// Bytes of transfer `id` from `offset`, at most `maxPayload` of them.
    case transferChunk(id: UInt64, offset: UInt64, bytes: [UInt8])
    /// Transfer `id` ended: from the receiver, whether it installed the app and what happened; from the sender, that
    /// it gave the transfer up (`ok` false).
    case transferEnd(id: UInt64, ok: Bool, message: String)
    /// `app` no longer runs on the sender: it moved to node `to`. Messages for it go there.
    case appMoved(app: String, to: String)

    public static let headerSize = 5
    /// The largest payload a message or publish carries (the ABI's `net_send` limit).
    public static let maxPayload = 64 * 1024
    /// The largest frame a node accepts unless it says less in its hello.
    public static let defaultMaxFrame = 128 * 1024
    /// Payload bytes of one app's messages a sender may have unacknowledged on a link (besides the hello's window
    /// of messages); the receiver holds no more than this per app while the app catches up.
    public static let maxStreamBytes = 2 << 20
    public static let maxTopic = 256
    public static let maxText = 512
    public static let maxVersions = 16
    /// Bytes of a transfer a sender has in flight past the receiver's last `transferAt`.
    public static let transferWindow = 4 << 20
    /// The receiver says how far it has written at least this often.
    public static let transferAckEvery = 1 << 20

    enum Kind: UInt8 {
        case hello = 1, message, ack, subscribe, unsubscribe, publish, ping, pong, auditHead, close, headQuery, heldHead
        case transferOffer, transferAt, transferChunk, transferEnd, appMoved
    }

    var kind: Kind {
        switch self {
        case .hello: .hello
        case .message: .message
        case .ack: .ack
        case .subscribe: .subscribe
        case .unsubscribe: .unsubscribe
        case .publish: .publish
        case .ping: .ping
        case .pong: .pong
        case .auditHead: .auditHead
        case .close: .close
        case .headQuery: .headQuery
        case .heldHead: .heldHead
        case .transferOffer: .transferOffer
        case .transferAt: .transferAt
        case .transferChunk: .transferChunk
        case .transferEnd: .transferEnd
        case .appMoved: .appMoved
        }
    }

    /// The frame's kind, as messages name it (`hello`, `message`, …).
    public var name: String { "\(kind)" }

    public var isHello: Bool { kind == .hello }

    /// The whole frame, header included.
    public func encoded() -> [UInt8] {
        var w = WireWriter(capacity: 64)
        switch self {
        case .hello(let versions, let maxFrame, let window):
            w.u32(UInt32(versions.count))
            for v in versions { w.u8(UInt8(v & 0xff)); w.u8(UInt8(v >> 8)) }
            w.u32(maxFrame)
            w.u32(window)
        case .message(let app, let seq, let payload):
            w.string(app); w.u64(seq); w.data(payload)
        case .ack(let app, let seq):
            w.string(app); w.u64(seq)
        case .subscribe(let app, let topic), .unsubscribe(let app, let topic):
            w.string(app); w.string(topic)
        case .publish(let app, let topic, let payload):
            w.string(app); w.string(topic); w.data(payload)
        case .ping(let nonce), .pong(let nonce), .headQuery(let nonce):
            w.u64(nonce)
        case .heldHead(let nonce, let head):
            w.u64(nonce); w.string(head)
        case .auditHead(let text), .close(let text):
            w.string(text)
        case .transferOffer(let id, let app, let size, let digest, let key):
            w.u64(id); w.string(app); w.u64(size); w.data(digest); w.data(key)
        case .transferAt(let id, let have):
            w.u64(id); w.u64(have)
        case .transferChunk(let id, let offset, let bytes):
            w.u64(id); w.u64(offset); w.data(bytes)
        case .transferEnd(let id, let ok, let message):
            w.u64(id); w.u8(ok ? 1 : 0); w.string(message)
        case .appMoved(let app, let to):
            w.string(app); w.string(to)
        }
        var out = WireWriter(capacity: Self.headerSize + w.bytes.count)
        out.u32(UInt32(1 + w.bytes.count))
        out.u8(kind.rawValue)
        out.raw(w.bytes)
        return out.bytes
    }

    /// The frame of `kind` with `payload`; throws `LinkError` for anything that breaks the format.
    static func decode(kind raw: UInt8, payload: [UInt8]) throws(LinkError) -> LinkFrame {
        guard let kind = Kind(rawValue: raw) else { throw LinkError(.unknownKind, "frame kind \(raw) is not known to link protocol versions 1 and 2") }
        var r = WireReader(payload)
        let frame: LinkFrame
        do throws(WireError) {
            switch kind {
            case .hello:
                let count = Int(try r.u32())
                guard (1...maxVersions).contains(count) else { throw WireError(.badPayload, "a hello names 1 to \(maxVersions) versions, not \(count)") }
                var versions: [UInt16] = []
                for _ in 0..<count { versions.append(UInt16(try r.u8()) | UInt16(try r.u8()) << 8) }
                frame = .hello(versions: versions, maxFrame: try r.u32(), window: try r.u32())
            case .message:
                frame = .message(app: try app(&r), seq: try r.u64(), payload: try r.data(limit: maxPayload))
            case .ack:
                frame = .ack(app: try app(&r), seq: try r.u64())
            case .subscribe:
                frame = .subscribe(app: try app(&r), topic: try text(&r, limit: maxTopic, what: "topic"))
            case .unsubscribe:
                frame = .unsubscribe(app: try app(&r), topic: try text(&r, limit: maxTopic, what: "topic"))
            case .publish:
                frame = .publish(app: try app(&r), topic: try text(&r, limit: maxTopic, what: "topic"), payload: try r.data(limit: maxPayload))
            case .ping:
                frame = .ping(try r.u64())
            case .pong:
                frame = .pong(try r.u64())
            case .auditHead:
                frame = .auditHead(try text(&r, limit: maxText, what: "audit head"))
            case .close:
                frame = .close(reason: try text(&r, limit: maxText, what: "reason"))
            case .headQuery:
                frame = .headQuery(try r.u64())
            case .heldHead:
                frame = .heldHead(nonce: try r.u64(), head: try text(&r, limit: maxText, what: "audit head"))
            case .transferOffer:
                let id = try r.u64(), app = try app(&r), size = try r.u64()
                let digest = try r.data(limit: 32), key = try r.data(limit: 32)
                guard digest.count == 32, key.count == 32 else { throw WireError(.badPayload, "a transfer's digest and key are 32 bytes each") }
                frame = .transferOffer(id: id, app: app, size: size, digest: digest, key: key)
            case .transferAt:
                frame = .transferAt(id: try r.u64(), have: try r.u64())
            case .transferChunk:
                let id = try r.u64(), offset = try r.u64(), bytes = try r.data(limit: maxPayload)
                guard !bytes.isEmpty else { throw WireError(.badPayload, "an empty transfer chunk") }
                frame = .transferChunk(id: id, offset: offset, bytes: bytes)
            case .transferEnd:
                let id = try r.u64(), flag = try r.u8()
                guard flag <= 1 else { throw WireError(.badPayload, "a transfer's outcome is 0 or 1, not \(flag)") }
                frame = .transferEnd(id: id, ok: flag == 1, message: try text(&r, limit: maxText, what: "message"))
            case .appMoved:
                let app = try app(&r), to = try text(&r, limit: 64, what: "node id")
                guard NameRules.isNodeID(to) else { throw WireError(.badPayload, "\"\(to.prefix(64))\" is not a node id") }
                frame = .appMoved(app: app, to: to)
            }
        } catch {
            throw LinkError(.malformed, "\(kind) frame: \(error.message)")
        }
        guard r.remaining == 0 else { throw LinkError(.malformed, "\(kind) frame has \(r.remaining) bytes past its fields") }
        return frame
    }

    private static func app(_ r: inout WireReader) throws(WireError) -> String {
        let id = try text(&r, limit: 64, what: "app id")
        guard NameRules.isAppID(id) else { throw WireError(.badPayload, "\"\(id.prefix(64))\" is not an app id") }
        return id
    }

    private static func text(_ r: inout WireReader, limit: Int, what: String) throws(WireError) -> String {
        let bytes = try r.data(limit: limit)
        guard let s = String(validating: bytes, as: UTF8.self), !s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw WireError(.badPayload, "the \(what) is not UTF-8 text without control characters")
        }
        return s
    }
}
