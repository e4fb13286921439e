import FoundationEssentials
import PluginABI
import SynText

/// The app's own SQLite database (`storage.sql`), in the call's transaction. Parameters are bound, never spliced.
public struct SQL: Sendable {
    let host: Host

    /// Runs a statement; returns the rows it changed.
    @discardableResult
    public func exec(_ sql: String, _ parameters: [SQLValue] = []) throws(HostError) -> Int {
        var changes: UInt64 = 0
        let status = Host.withBuf(Array(sql.utf8)) { s in
            Host.withBuf(SQLValue.json(parameters)) { p in host.table.pointee.sql_exec(host.ctx, s, p, &changes) }
        }
        try host.check(status, "sql_exec")
        return Int(clamping: changes)
    }

    /// Runs a query; returns its rows.
    public func query(_ sql: String, _ parameters: [SQLValue] = []) throws(HostError) -> [Row] {
        var rows = syn_buf(ptr: nil, len: 0)
        let status = Host.withBuf(Array(sql.utf8)) { s in
            Host.withBuf(SQLValue.json(parameters)) { p in host.table.pointee.sql_query(host.ctx, s, p, &rows) }
        }
        try host.check(status, "sql_query")
        guard let decoded = JSONRows.parse(Host.bytes(rows)) else {
            throw HostError(status: SYN_E_INTERNAL, slot: "sql_query", message: "the host returned rows that are not JSON")
        }
        return decoded.map(Row.init)
    }

    /// The first row, or nil.
    public func first(_ sql: String, _ parameters: [SQLValue] = []) throws(HostError) -> Row? {
        try query(sql, parameters).first
    }
}

/// One SQLite value.
public enum SQLValue: Sendable, Equatable, Decodable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
                      ExpressibleByFloatLiteral, ExpressibleByNilLiteral {
    case null, integer(Int64), real(Double), text(String), blob([UInt8])

    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .real(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(_ value: Int) { self = .integer(Int64(value)) }
    public init(_ value: String?) { self = value.map { .text($0) } ?? .null }
    public init(_ value: Bool) { self = .integer(value ? 1 : 0) }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .real(d) }
        else if let s = try? c.decode(String.self) { self = .text(s) }
        else { self = .blob(try c.decode(JSONBytes.self).bytes) }
    }

    /// The JSON array the host expects for parameters, written byte by byte.
    static func json(_ values: [SQLValue]) -> [UInt8] {
        var out: [UInt8] = [0x5B]
        for (i, v) in values.enumerated() {
            if i > 0 { out.append(0x2C) }
            switch v {
            case .null: out += "null".utf8
            case .integer(let n): out += String(n).utf8
            case .real(let d): out += (d.isFinite ? "\(d)" : "null").utf8
            case .text(let s): JSONString.append(s, to: &out)
            case .blob(let b): out += ("{\"base64\":\"" + Data(b).base64EncodedString() + "\"}").utf8
            }
        }
        out.append(0x5D)
        return out
    }
}

/// A result row, read by column index.
public struct Row: Sendable, Equatable {
    public let values: [SQLValue]

    public subscript(_ index: Int) -> SQLValue { values.indices.contains(index) ? values[index] : .null }
    public func int(_ index: Int) -> Int? {
        if case .integer(let v) = self[index] { return Int(v) }
        if case .real(let d) = self[index], d.rounded() == d, abs(d) < 9e15 { return Int(d) }
        return nil
    }
    public func double(_ index: Int) -> Double? {
        switch self[index] {
        case .integer(let v): Double(v)
        case .real(let d): d
        default: nil
        }
    }
    public func text(_ index: Int) -> String? {
        if case .text(let s) = self[index] { return s }
        return nil
    }
    public func blob(_ index: Int) -> [UInt8]? {
        switch self[index] {
        case .blob(let b): b
        case .text(let s): Array(s.utf8)
        default: nil
        }
    }
}

/// JSON string quoting, for apps that write a `RawJSON` body by hand.
public enum JSONQuote {
    /// `s` as a JSON string literal, quotes included.
    public static func quote(_ s: String) -> String { JSONText.quote(s) }
}

/// JSON string quoting for the few places the SDK writes JSON by hand.
enum JSONText {
    static func quote(_ s: String) -> String { JSONString.quote(s) }
}
