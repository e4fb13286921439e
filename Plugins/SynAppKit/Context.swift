public import FoundationEssentials
import SynText
import PluginABI

/// Everything a handler may use during one call: who is calling, the request id, and the app's capabilities.
public struct Context: Sendable {
    var host: Host
    /// The app's id.
    public let appID: String
    /// The verified caller, or nil for an unsigned request (or an event, or a timer).
    public let caller: CallerKey?
    /// The node's id for this request, for logs and receipts.
    public let requestID: UInt64

    /// Key-value storage.
    public var kv: KV { KV(host: host) }
    /// SQL storage.
    public var sql: SQL { SQL(host: host) }
    /// The app's identity.
    public var identity: Identity { Identity(host: host) }
    /// Domain events and timers.
    public var events: Events { Events(host: host) }

    /// The verified caller, or 401 `caller_required`.
    public func requireCaller() throws(AppError) -> CallerKey {
        guard let caller else { throw .unauthenticated() }
        return caller
    }

    /// Wall-clock time.
    public var now: Date {
        Date(timeIntervalSince1970: Double(host.table.pointee.clock_ns(host.ctx, 0)) / 1e9)
    }

    /// Wall-clock milliseconds since the Unix epoch.
    public var nowMs: Int64 { Int64(host.table.pointee.clock_ns(host.ctx, 0) / 1_000_000) }

    /// `count` cryptographically secure random bytes (at most 65536).
    public func random(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max(0, min(count, 65536)))
        _ = out.withUnsafeMutableBufferPointer { host.table.pointee.random(host.ctx, $0.baseAddress, $0.count) }
        return out
    }

    /// A new identifier: 32 hex characters, the first 12 the current millisecond and the other 20 random (80 bits).
    /// Ids made later sort later, so rows keyed by them are appended to their table's last page instead of landing
    /// on a random one: a call dirties fewer pages and the page cache holds the pages being written.
    public func newID() -> String {
        let ms = UInt64(max(nowMs, 0)) & 0xFFFF_FFFF_FFFF
        let time = (0..<6).map { UInt8(truncatingIfNeeded: ms >> (40 - 8 * $0)) }
        return Hex.encode(time + random(10))
    }

    /// A log line attributed to the app (and to this request by the node).
    public func log(_ level: LogLevel = .info, _ message: String) {
        Host.withBuf(Array(message.utf8)) { host.table.pointee.log(host.ctx, level.rawValue, $0) }
    }

    public enum LogLevel: Int32, Sendable { case trace, debug, info, warn, error }
}

/// A verified caller's ed25519 public key.
public struct CallerKey: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The 32 raw bytes.
    public let bytes: [UInt8]
    /// The key id the node uses: unpadded base64url of the 32 bytes (made once: apps compare and bind it often).
    public let id: String
    public var hex: String { Hex.encode(bytes) }
    public var description: String { id }

    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
        self.id = Base64URL.encode(bytes)
    }

    /// Parses a key id (base64url, 43 characters) or 64 hex characters.
    public init?(_ text: String) {
        if text.utf8.count == 64, let raw = Hex.decode(text) { self.init(bytes: raw); return }
        guard let raw = Base64URL.decode(text), raw.count == 32 else { return nil }
        self.init(bytes: raw)
    }

    public static func == (a: CallerKey, b: CallerKey) -> Bool { a.bytes == b.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        guard let key = CallerKey(try c.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected an ed25519 key id (base64url) or 64 hex characters")
        }
        self = key
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(id)
    }
}

/// Hex and base64url, as the node writes keys.
public enum Hex {
    public static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}

public enum Base64URL {
    /// Unpadded URL-safe base64 (RFC 4648 §5) of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        Base64.encode(bytes, into: &out)
        while out.last == UInt8(ascii: "=") { out.removeLast() }
        for i in out.indices {
            if out[i] == UInt8(ascii: "+") { out[i] = UInt8(ascii: "-") } else if out[i] == UInt8(ascii: "/") { out[i] = UInt8(ascii: "_") }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of unpadded URL-safe base64 `text`, or nil (padding, other alphabets, non-zero trailing bits).
    public static func decode(_ text: String) -> [UInt8]? {
        var standard: [UInt8] = []
        standard.reserveCapacity(text.utf8.count + 3)
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "-"): standard.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): standard.append(UInt8(ascii: "/"))
            case UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="): return nil
            default: standard.append(c)
            }
        }
        guard standard.count % 4 != 1 else { return nil }
        while standard.count % 4 != 0 { standard.append(UInt8(ascii: "=")) }
        return Base64.decode(standard)
    }
}
