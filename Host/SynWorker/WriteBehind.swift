import SynWire

/// Blind `kv_put`s (no `if_version`, no `new_version`) held back by the worker and handed to the host in one
/// `hostWrite` frame: before the call's next host call, when this buffer fills, or with the call's reply.
///
/// The host applies them in order inside the call's transaction, so the call still commits or rolls back as a
/// whole; a failure among them fails the call. Until they are sent, `kv_get` of such a key (without asking for a
/// version) is answered from here: a call always reads its own writes.
struct WriteBehind {
    /// At most this many bytes are held back: one packet on the link.
    static let maxBytes = 24 * 1024
    /// A put larger than this (key and value) goes to the host at once.
    static let maxRecord = 8 * 1024
    /// The host's key limit: a longer key goes to the host at once, to fail where it was written.
    static let maxKey = 1024

    private(set) var records = WireWriter()
    private var latest: [[UInt8]: [UInt8]] = [:]

    var isEmpty: Bool { latest.isEmpty }

    /// Whether a put of `keyLength` and `valueLength` bytes may be held back at all.
    static func accepts(keyLength: Int, valueLength: Int) -> Bool {
        keyLength > 0 && keyLength <= maxKey && keyLength + valueLength <= maxRecord
    }

    /// Whether a put of that size still fits before the buffer must be sent.
    func fits(keyLength: Int, valueLength: Int) -> Bool {
        records.bytes.count + 8 + keyLength + valueLength <= Self.maxBytes
    }

    mutating func add(key: [UInt8], value: [UInt8]) {
        records.data(key)
        records.data(value)
        latest[key] = value
    }

    /// The value most recently held back for `key`.
    func value(for key: [UInt8]) -> [UInt8]? { latest[key] }

    /// Empties the buffer and returns its records.
    mutating func take() -> [UInt8] {
        defer { clear() }
        return records.bytes
    }

    mutating func clear() {
        records = WireWriter()
        latest.removeAll(keepingCapacity: true)
    }
}
