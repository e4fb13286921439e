public import SynSQLite
import SynText

/// Query rows and KV fields as JSON, written byte by byte (a query's rows are the largest answer most calls get):
/// numbers, strings and null as themselves, a blob as `{"base64": "..."}`, a non-finite real as null.
public enum SQLRows {
    /// `[[v, ...], ...]`.
    public static func json(_ rows: [[SQLValue]]) -> [UInt8] {
        var out: [UInt8] = [0x5B]
        out.reserveCapacity(2 + rows.count * (2 + (rows.first?.count ?? 0) * 12))
        for (i, row) in rows.enumerated() {
            if i > 0 { out.append(0x2C) }
            out.append(0x5B)
            for (k, v) in row.enumerated() {
                if k > 0 { out.append(0x2C) }
                append(v, to: &out)
            }
            out.append(0x5D)
        }
        out.append(0x5D)
        return out
    }

    /// One value as JSON, appended to `out`.
    public static func append(_ v: SQLValue, to out: inout [UInt8]) {
        switch v {
        case .null: out.append(contentsOf: "null".utf8)
        case .integer(let n): out.append(contentsOf: String(n).utf8)
        case .real(let d): out.append(contentsOf: (d.isFinite ? "\(d)" : "null").utf8)
        case .text(let s): JSONString.append(s, to: &out)
        case .blob(let b): appendBase64(b, to: &out)
        }
    }

    /// Bytes as a JSON field: a string when they are UTF-8, else `{"base64": ...}`.
    public static func append(bytes b: [UInt8], to out: inout [UInt8]) {
        if let s = String(validating: b, as: UTF8.self) { JSONString.append(s, to: &out) } else { appendBase64(b, to: &out) }
    }

    private static func appendBase64(_ b: [UInt8], to out: inout [UInt8]) {
        out.append(contentsOf: "{\"base64\":\"".utf8)
        Base64.encode(b, into: &out)
        out.append(contentsOf: "\"}".utf8)
    }
}
