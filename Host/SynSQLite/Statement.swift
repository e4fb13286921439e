import CSynSQLite

/// A compiled statement of one `Database`. Not `Sendable`: use it on its connection's thread.
///
/// It keeps its connection alive; once the connection is closed every call fails with `SQLiteError.misuse`.
public final class Statement {
    /// The connection the statement belongs to.
    let database: Database
    /// The `sqlite3_stmt` handle, finalized in `deinit`.
    let handle: OpaquePointer
    /// The SQL the statement was compiled from.
    public let sql: String
    /// Whether this object finalizes the handle; a connection's cached statements are finalized when it closes.
    private var owned: Bool

    init(database: Database, handle: OpaquePointer, sql: String, owned: Bool = true) {
        self.database = database
        self.handle = handle
        self.sql = sql
        self.owned = owned
    }

    deinit { if owned { sqlite3_finalize(handle) } }

    /// Hands the handle to the caller, who finalizes it from now on.
    func detach() -> OpaquePointer {
        owned = false
        return handle
    }

    /// The number of `?` / `:name` parameters, the count `bind(_:)` expects.
    /// The corresponding C function is `sqlite3_bind_parameter_count`.
    public var parameterCount: Int { Int(sqlite3_bind_parameter_count(handle)) }

    /// Rewinds the statement and binds `values` to its parameters in order; the count must match `parameterCount`.
    /// The corresponding C functions are `sqlite3_bind_*`.
    public func bind(_ values: [SQLValue]) throws(SQLiteError) {
        try checkOpen()
        let expected = parameterCount
        guard values.count == expected else {
            throw SQLiteError(extendedCode: SQLITE_RANGE,
                              message: "statement has \(expected) parameter(s) but \(values.count) argument(s) were given",
                              sql: sql)
        }
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (offset, value) in values.enumerated() {
            let rc = bind(value, at: Int32(offset + 1))
            guard rc == SQLITE_OK else { throw database.error(rc, sql: sql) }
        }
    }

    private func bind(_ value: SQLValue, at index: Int32) -> Int32 {
        switch value {
        case .null:
            return sqlite3_bind_null(handle, index)
        case .integer(let number):
            return sqlite3_bind_int64(handle, index, number)
        case .real(let number):
            return sqlite3_bind_double(handle, index, number)
        case .text(let string):
            var string = string
            return string.withUTF8 { bytes in
                guard let base = bytes.baseAddress, !bytes.isEmpty else {
                    return sqlite3_bind_text(handle, index, "", 0, csyn_sqlite3_transient())
                }
                return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { start in
                    sqlite3_bind_text64(handle, index, start, UInt64(bytes.count), csyn_sqlite3_transient(),
                                        UInt8(SQLITE_UTF8))
                }
            }
        case .blob(let bytes):
            return bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress, !raw.isEmpty else {
                    // A nil pointer would bind NULL; a zero-length zeroblob is an empty blob.
                    return sqlite3_bind_zeroblob(handle, index, 0)
                }
                return sqlite3_bind_blob64(handle, index, base, UInt64(raw.count), csyn_sqlite3_transient())
            }
        }
    }

    /// Runs the statement to its next row: true when a row is available through `row()`, false when done.
    /// The corresponding C function is `sqlite3_step`.
    public func step() throws(SQLiteError) -> Bool {
        try checkOpen()
        database.authorizer.lastRefusal = nil
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.authorizedError(rc, sql: sql)
        }
    }

    /// The current row's values; empty once the connection is closed.
    public func row() -> [SQLValue] {
        guard database.isOpen else { return [] }
        return (0..<Int32(columnCount)).map(value(at:))
    }

    /// The number of result columns.
    /// The corresponding C function is `sqlite3_column_count`.
    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    /// The name of result column `index`, or "" if there is none.
    /// The corresponding C function is `sqlite3_column_name`.
    public func columnName(_ index: Int) -> String {
        guard database.isOpen, index >= 0, index < columnCount, let name = sqlite3_column_name(handle, Int32(index)) else {
            return ""
        }
        return String(cString: name)
    }

    /// Rewinds the statement so it can run again, keeping its bindings. An error from the last `step()` is not
    /// reported again; only a closed connection throws.
    /// The corresponding C function is `sqlite3_reset`.
    public func reset() throws(SQLiteError) {
        try checkOpen()
        sqlite3_reset(handle)
    }

    /// Resets the statement so it holds no read transaction open, ignoring errors already reported; a kept
    /// statement (not this object's to finalize) also lets go of its bound values, which may be large.
    func finish() {
        guard database.isOpen else { return }
        sqlite3_reset(handle)
        if !owned { sqlite3_clear_bindings(handle) }
    }

    /// Column `index` of the current row.
    private func value(at index: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(handle, index))
        case SQLITE_TEXT:
            guard let text = sqlite3_column_text(handle, index) else { return .text("") }
            let count = Int(sqlite3_column_bytes(handle, index))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            guard let blob = sqlite3_column_blob(handle, index) else { return .blob([]) }
            let count = Int(sqlite3_column_bytes(handle, index))
            return .blob(Array(UnsafeRawBufferPointer(start: blob, count: count)))
        default:
            return .null
        }
    }

    /// The current row's size as `SQLValue.byteCount` would count it, without copying any value.
    func rowByteCount() -> Int {
        var total = 0
        for index in 0..<Int32(columnCount) {
            switch sqlite3_column_type(handle, index) {
            case SQLITE_INTEGER, SQLITE_FLOAT: total += 8
            case SQLITE_TEXT, SQLITE_BLOB: total += Int(sqlite3_column_bytes(handle, index))
            default: break
            }
        }
        return total
    }

    private func checkOpen() throws(SQLiteError) {
        guard database.isOpen else { throw Database.closedError(sql: sql) }
    }
}

@available(*, unavailable)
extension Statement: Sendable {}
