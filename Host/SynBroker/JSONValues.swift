import Foundation
import SynSQLite

/// SQL parameters and rows as JSON: numbers, strings, booleans and null map to SQLite values; a blob is
/// `{"base64": "..."}` both ways.
public enum JSONValues {
    static func parameters(_ bytes: [UInt8]) throws(BrokerFailure) -> [SQLValue] {
        if bytes.isEmpty { return [] }
        do {
            return try JSONDecoder().decode([Parameter].self, from: Data(bytes)).map(\.value)
        } catch {
            throw BrokerFailure(BrokerStatus.badArg,
                                "params_json must be a JSON array of numbers, strings, booleans, null or {\"base64\": \"...\"} (blobs)")
        }
    }

    /// One SQL parameter, decoded exactly: JSON true is not the number 1, 2 is not 2.0.
    private struct Parameter: Decodable {
        let value: SQLValue
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { value = .null }
            else if let b = try? c.decode(Bool.self) { value = .integer(b ? 1 : 0) }
            else if let i = try? c.decode(Int64.self) { value = .integer(i) }
            else if let d = try? c.decode(Double.self) { value = .real(d) }
            else if let s = try? c.decode(String.self) { value = .text(s) }
            else {
                let o = try c.decode([String: String].self)
                guard o.count == 1, let b64 = o["base64"], let data = Data(base64Encoded: b64) else {
                    throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a blob")
                }
                value = .blob(Array(data))
            }
        }
    }

    /// Whether `bytes` is one valid JSON value.
    public static func isJSON(_ bytes: [UInt8]) -> Bool {
        (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
    }

    /// Written byte by byte: a query's rows are the largest answer most calls get.
    static func rows(_ rows: [[SQLValue]]) -> [UInt8] {
        var out: [UInt8] = [0x5B]
        out.reserveCapacity(2 + rows.count * (2 + (rows.first?.count ?? 0) * 12))
        for (i, row) in rows.enumerated() {
            if i > 0 { out.append(0x2C) }
            out.append(0x5B)
            for (k, v) in row.enumerated() {
                if k > 0 { out.append(0x2C) }
                switch v {
                case .integer(let n): out.append(contentsOf: String(n).utf8)
                case .text(let s): JSONString.append(s, to: &out)
                default: out.append(contentsOf: value(v).utf8)
                }
            }
            out.append(0x5D)
        }
        out.append(0x5D)
        return out
    }

    static func value(_ v: SQLValue) -> String {
        switch v {
        case .null: "null"
        case .integer(let i): String(i)
        case .real(let d): d.isFinite ? "\(d)" : "null"
        case .text(let s): string(s)
        case .blob(let b): "{\"base64\":\"\(Data(b).base64EncodedString())\"}"
        }
    }

    /// A JSON string literal.
    static func string(_ s: String) -> String { JSONString.quote(s) }

    /// Bytes as a JSON field: a string when they are UTF-8, else `{"base64": ...}`.
    static func bytes(_ b: [UInt8]) -> String {
        if let s = String(validating: b, as: UTF8.self) { return string(s) }
        return "{\"base64\":\"\(Data(b).base64EncodedString())\"}"
    }
}
