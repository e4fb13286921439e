/// A value stored in or read from SQLite, one case per storage class.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    /// A floating-point value. SQLite stores NaN as NULL.
    case real(Double)
    /// UTF-8 text; embedded NUL characters are kept.
    case text(String)
    /// Bytes; an empty blob is distinct from `.null`.
    case blob([UInt8])

    /// The bytes this value counts for in `Database.query(_:_:limitRows:limitBytes:)`: 0 for NULL, 8 for numbers,
    /// the UTF-8 length of text and the length of a blob.
    public var byteCount: Int {
        switch self {
        case .null: 0
        case .integer, .real: 8
        case .text(let text): text.utf8.count
        case .blob(let bytes): bytes.count
        }
    }
}
