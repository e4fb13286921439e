import SynText

/// Reads the host's `sql_query` answer, a JSON array of rows, each an array of values (null, numbers, strings, and
/// blobs as `{"base64": "..."}`), in one pass over the bytes (`JSONScalars`).
enum JSONRows {
    /// The rows, or nil when `bytes` is not that shape (SQLite has no booleans, so no row holds one).
    static func parse(_ bytes: [UInt8]) -> [[SQLValue]]? {
        guard let rows = JSONScalars.rows(bytes) else { return nil }
        var out: [[SQLValue]] = []
        out.reserveCapacity(rows.count)
        for row in rows {
            var values: [SQLValue] = []
            values.reserveCapacity(row.count)
            for scalar in row {
                switch scalar {
                case .null: values.append(.null)
                case .bool: return nil
                case .integer(let n): values.append(.integer(n))
                case .real(let d): values.append(.real(d))
                case .string(let s): values.append(.text(s))
                case .bytes(let b): values.append(.blob(b))
                }
            }
            out.append(values)
        }
        return out
    }
}
