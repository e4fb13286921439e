import SynSQLite
import SynWire

/// The `kv_*` slots: the `syn_kv` table, with compare-and-swap versions and prefix scans.
extension AppStore {
    public func get(key: [UInt8]) throws(StoreFailure) -> (value: [UInt8], version: UInt64) {
        let rows = try kv("SELECT value, version FROM syn_kv WHERE key = ?", [.blob(try Self.checked(key))])
        guard let row = rows.first, case .blob(let value) = row[0], case .integer(let version) = row[1] else {
            throw StoreFailure(SynStatus.notFound, "kv_get: no such key")
        }
        return (value, UInt64(version))
    }

    /// `ifVersion` 0: any; `UInt64.max`: only if absent; else the current version must match. Returns the new
    /// version (0 for a blind put when `wantVersion` is false).
    public func put(key: [UInt8], value: [UInt8], ifVersion: UInt64, wantVersion: Bool = true) throws(StoreFailure) -> UInt64 {
        let key = try Self.checked(key)
        guard value.count <= Self.maxValue else {
            throw StoreFailure(SynStatus.tooLarge, "kv_put: the value is \(value.count) bytes; at most \(Self.maxValue)")
        }
        if ifVersion == 0 {
            // One statement: insert at version 1, or bump the version in place.
            _ = try kv("INSERT INTO syn_kv(key, value, version) VALUES (?, ?, 1) ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = syn_kv.version + 1",
                       [.blob(key), .blob(value)])
            guard wantVersion else { return 0 }
            guard let row = try kv("SELECT version FROM syn_kv WHERE key = ?", [.blob(key)]).first,
                  case .integer(let version) = row[0] else {
                throw StoreFailure(SynStatus.io, "kv_put: the key vanished inside its own transaction")
            }
            return UInt64(version)
        }
        let current = try version(of: key)
        switch (ifVersion, current) {
        case (UInt64.max, .some(let v)): throw StoreFailure(SynStatus.conflict, "kv_put: the key exists (version \(v)) and if_version asks for absent")
        case (UInt64.max, nil): break
        case (let want, let have) where have != want:
            throw StoreFailure(SynStatus.conflict, "kv_put: version is \(have.map(String.init) ?? "absent"), if_version was \(want)")
        default: break
        }
        let next = (current ?? 0) + 1
        _ = try kv("INSERT INTO syn_kv(key, value, version) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = excluded.version",
                   [.blob(key), .blob(value), .integer(Int64(next))])
        return next
    }

    public func delete(key: [UInt8], ifVersion: UInt64) throws(StoreFailure) {
        let key = try Self.checked(key)
        guard let current = try version(of: key) else { throw StoreFailure(SynStatus.notFound, "kv_delete: no such key") }
        guard ifVersion == 0 || current == ifVersion else {
            throw StoreFailure(SynStatus.conflict, "kv_delete: version is \(current), if_version was \(ifVersion)")
        }
        _ = try kv("DELETE FROM syn_kv WHERE key = ?", [.blob(key)])
    }

    /// Keys with `prefix` after `cursor`, at most `limit` (1...1000; 0 means 100), as a JSON page; the next cursor is
    /// empty at the end.
    public func scan(prefix: [UInt8], cursor: [UInt8], limit: UInt32) throws(StoreFailure) -> (page: [UInt8], next: [UInt8]) {
        guard prefix.count <= Self.maxKey, cursor.count <= Self.maxKey else {
            throw StoreFailure(SynStatus.tooLarge, "kv_scan: the prefix and cursor may be at most \(Self.maxKey) bytes")
        }
        let n = limit == 0 ? 100 : min(Int(limit), Self.maxScan)
        let rows = try kv("""
            SELECT key, value, version FROM syn_kv
            WHERE substr(key, 1, length(?1)) = ?1 AND key > ?2 ORDER BY key LIMIT ?3
            """, [.blob(prefix), .blob(cursor), .integer(Int64(n + 1))])
        var page: [UInt8] = [0x5B]
        var last: [UInt8] = []
        for row in rows.prefix(n) {
            guard case .blob(let k) = row[0], case .blob(let v) = row[1], case .integer(let version) = row[2] else { continue }
            if page.count > 1 { page.append(0x2C) }
            page.append(contentsOf: "{\"key\":".utf8)
            SQLRows.append(bytes: k, to: &page)
            page.append(contentsOf: ",\"value\":".utf8)
            SQLRows.append(bytes: v, to: &page)
            page.append(contentsOf: ",\"version\":\(version)}".utf8)
            last = k
        }
        page.append(0x5D)
        return (page, rows.count > n ? last : [])
    }

    func version(of key: [UInt8]) throws(StoreFailure) -> UInt64? {
        guard let row = try kv("SELECT version FROM syn_kv WHERE key = ?", [.blob(key)]).first,
              case .integer(let v) = row[0] else { return nil }
        return UInt64(v)
    }

    private static func checked(_ key: [UInt8]) throws(StoreFailure) -> [UInt8] {
        guard !key.isEmpty else { throw StoreFailure(SynStatus.badArg, "keys must not be empty") }
        guard key.count <= maxKey else {
            throw StoreFailure(SynStatus.tooLarge, "the key is \(key.count) bytes; at most \(maxKey)")
        }
        return key
    }
}
