/// A parsed TOML value, independent of the TOML library.
enum ConfigValue {
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    case array([ConfigValue])
    case table(ConfigTable)
    /// A date, time or date-time, which no configuration key accepts.
    case dateTime(String)

    /// The TOML type name used in messages.
    var typeName: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .float: "floating-point number"
        case .bool: "boolean"
        case .array: "array"
        case .table: "table"
        case .dateTime(let kind): kind
        }
    }

    /// The type and a short rendering of the value, e.g. `string "abc"` or `integer -5`.
    var brief: String {
        switch self {
        case .string(let text):
            let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
            return "string \"\(shown)\""
        case .integer(let number): return "integer \(number)"
        case .float(let number): return "floating-point number \(number)"
        case .bool(let flag): return "boolean \(flag)"
        case .array, .table, .dateTime: return typeName
        }
    }
}
