import FoundationEssentials
import PluginABI

/// The app's key-value store (`storage.kv`): versioned values, compare-and-swap, prefix scans. Writes belong to
/// the call's transaction: they commit only if the handler succeeds.
public struct KV: Sendable {
    let host: Host

    /// A stored value and its version (versions start at 1).
    public struct Entry: Sendable, Equatable {
        public let value: [UInt8]
        public let version: UInt64
    }

    /// The entry at `key`, or nil.
    public func get(_ key: String) throws(HostError) -> Entry? {
        var value = syn_buf(ptr: nil, len: 0)
        var version: UInt64 = 0
        let status = Host.withBuf(Array(key.utf8)) { host.table.pointee.kv_get(host.ctx, $0, &value, &version) }
        if status == SYN_E_NOT_FOUND { return nil }
        try host.check(status, "kv_get")
        return Entry(value: Host.bytes(value), version: version)
    }

    /// Stores `value`. `ifVersion`: nil for any version (a blind write, the fastest), `.absent` only if the key
    /// does not exist, or the version it must have (`SYN_E_CONFLICT` → `HostError` status -7 otherwise).
    /// Returns the new version, or nil for a blind write (which skips reading it back).
    @discardableResult
    public func put(_ key: String, _ value: [UInt8], ifVersion: Version? = nil) throws(HostError) -> UInt64? {
        let keyBytes = Array(key.utf8)
        let status: syn_status
        var newVersion: UInt64 = 0
        switch ifVersion {
        case nil:
            status = Host.withBuf(keyBytes) { k in Host.withBuf(value) { v in host.table.pointee.kv_put(host.ctx, k, v, 0, nil) } }
        case .some(let want):
            status = Host.withBuf(keyBytes) { k in
                Host.withBuf(value) { v in host.table.pointee.kv_put(host.ctx, k, v, want.raw, &newVersion) }
            }
        }
        try host.check(status, "kv_put")
        return ifVersion == nil ? nil : newVersion
    }

    /// Deletes `key` (optionally only at `ifVersion`); false if it did not exist.
    @discardableResult
    public func delete(_ key: String, ifVersion: UInt64 = 0) throws(HostError) -> Bool {
        let status = Host.withBuf(Array(key.utf8)) { host.table.pointee.kv_delete(host.ctx, $0, ifVersion) }
        if status == SYN_E_NOT_FOUND { return false }
        try host.check(status, "kv_delete")
        return true
    }

    /// One page of keys starting with `prefix`, after `cursor` (nil for the first page), at most `limit` (≤ 1000).
    public func scan(prefix: String, after cursor: String? = nil, limit: Int = 100) throws(HostError) -> (entries: [(key: String, entry: Entry)], next: String?) {
        var page = syn_buf(ptr: nil, len: 0), next = syn_buf(ptr: nil, len: 0)
        let status = Host.withBuf(Array(prefix.utf8)) { p in
            Host.withBuf(Array((cursor ?? "").utf8)) { c in
                host.table.pointee.kv_scan(host.ctx, p, c, UInt32(clamping: max(1, min(limit, 1000))), &page, &next)
            }
        }
        try host.check(status, "kv_scan")
        struct Item: Decodable {
            let key: JSONBytes
            let value: JSONBytes
            let version: UInt64
        }
        guard let items = try? JSONDecoder().decode([Item].self, from: Data(Host.bytes(page))) else {
            throw HostError(status: SYN_E_INTERNAL, slot: "kv_scan", message: "the host returned a page that is not JSON")
        }
        let nextCursor = Host.bytes(next)
        return (items.map { (String(decoding: $0.key.bytes, as: UTF8.self), Entry(value: $0.value.bytes, version: $0.version)) },
                nextCursor.isEmpty ? nil : String(decoding: nextCursor, as: UTF8.self))
    }

    // MARK: Codable values

    /// The value at `key` decoded from JSON, or nil if absent.
    public func get<T: Decodable>(_ key: String, as type: T.Type) throws -> (value: T, version: UInt64)? {
        guard let entry = try get(key) else { return nil }
        return (try JSONDecoder().decode(T.self, from: Data(entry.value)), entry.version)
    }

    /// Stores `value` as JSON (see `put(_:_:ifVersion:)`).
    @discardableResult
    public func put<T: Encodable>(_ key: String, json value: T, ifVersion: Version? = nil) throws -> UInt64? {
        try put(key, Array(try JSONEncoder().encode(value)), ifVersion: ifVersion)
    }

    /// A compare-and-swap condition.
    public enum Version: Sendable, Equatable {
        /// Only if the key does not exist yet.
        case absent
        /// Only if the key is at this version.
        case exactly(UInt64)

        var raw: UInt64 {
            switch self {
            case .absent: UInt64.max
            case .exactly(let v): v
            }
        }
    }
}

/// Bytes in the host's JSON: a string when they are UTF-8, else `{"base64": ...}`.
struct JSONBytes: Decodable {
    let bytes: [UInt8]
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            bytes = Array(s.utf8)
        } else {
            let o = try c.decode([String: String].self)
            guard let b64 = o["base64"], let data = Data(base64Encoded: b64) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a string or {\"base64\": ...}")
            }
            bytes = Array(data)
        }
    }
}
