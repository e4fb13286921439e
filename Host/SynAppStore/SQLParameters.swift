public import SynSQLite
import SynText
import SynWire

/// SQL parameters given as JSON (`params_json`): an array of numbers, strings, booleans, null, or
/// `{"base64": "..."}` for a blob. Decoded exactly: `true` is the integer 1, `2` is an integer, `2.0` and `1e3` are
/// reals, strings keep every escaped character.
public enum SQLParameters {
    static let message = "params_json must be a JSON array of numbers, strings, booleans, null or {\"base64\": \"...\"} (blobs)"

    /// The parameters in `bytes` (empty bytes mean none).
    public static func parse(_ bytes: [UInt8]) throws(StoreFailure) -> [SQLValue] {
        if bytes.isEmpty { return [] }
        guard let scalars = JSONScalars.array(bytes) else { throw StoreFailure(SynStatus.badArg, message) }
        return scalars.map { scalar in
            switch scalar {
            case .null: .null
            case .bool(let b): .integer(b ? 1 : 0)
            case .integer(let n): .integer(n)
            case .real(let d): .real(d)
            case .string(let s): .text(s)
            case .bytes(let b): .blob(b)
            }
        }
    }
}
