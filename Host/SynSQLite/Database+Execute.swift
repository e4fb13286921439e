import CSynSQLite

extension Database {
    /// Runs one or more statements separated by semicolons, which take no arguments.
    public func execute(_ sql: String) throws(SQLiteError) {
        let text = try Database.cText(sql)
        var offset = 0
        while true {
            let (prepared, end) = try prepareNext(text, from: offset, sql: sql)
            guard let prepared else { return }
            let statement = Statement(database: self, handle: prepared, sql: sql)
            defer { statement.finish() }
            let parameters = statement.parameterCount
            guard parameters == 0 else {
                throw SQLiteError(extendedCode: SQLITE_RANGE,
                                  message: "execute(_:) takes no arguments but a statement has \(parameters) parameter(s); "
                                      + "use execute(_:_:)", sql: sql)
            }
            while try statement.step() {}
            guard end > offset else { return }
            offset = end
        }
    }

    /// Runs one statement with `arguments` and returns the rows it changed (`changes`).
    @discardableResult
    public func execute(_ sql: String, _ arguments: [SQLValue]) throws(SQLiteError) -> Int {
        let statement = try reusable(sql)
        defer { statement.finish() }
        try statement.bind(arguments)
        while try statement.step() {}
        return changes
    }

    /// Runs one statement with `arguments` and returns all its rows.
    public func query(_ sql: String, _ arguments: [SQLValue] = []) throws(SQLiteError) -> [[SQLValue]] {
        try query(sql, arguments, limitRows: Int.max, limitBytes: Int.max)
    }

    /// Runs one statement with `arguments` and returns all its rows, failing with `SQLiteError.tooBig` as soon as
    /// there are more than `limitRows` rows or more than `limitBytes` bytes (counted as `SQLValue.byteCount`).
    /// Values past the limit are never copied.
    public func query(_ sql: String, _ arguments: [SQLValue], limitRows: Int, limitBytes: Int) throws(SQLiteError)
        -> [[SQLValue]]
    {
        guard limitRows >= 0, limitBytes >= 0 else {
            throw SQLiteError(extendedCode: SQLITE_RANGE, message: "query limits must not be negative", sql: sql)
        }
        let statement = try reusable(sql)
        defer { statement.finish() }
        try statement.bind(arguments)
        var rows: [[SQLValue]] = []
        var bytes = 0
        while try statement.step() {
            guard rows.count < limitRows else {
                throw SQLiteError(extendedCode: SQLITE_TOOBIG,
                                  message: "query returned more than \(limitRows) row(s)", sql: sql)
            }
            let (sum, overflow) = bytes.addingReportingOverflow(statement.rowByteCount())
            guard !overflow, sum <= limitBytes else {
                throw SQLiteError(extendedCode: SQLITE_TOOBIG,
                                  message: "query returned more than \(limitBytes) byte(s)", sql: sql)
            }
            bytes = sum
            rows.append(statement.row())
        }
        return rows
    }

    /// Compiles exactly one statement.
    /// The corresponding C function is `sqlite3_prepare_v2`.
    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        let text = try Database.cText(sql)
        let (prepared, end) = try prepareNext(text, from: 0, sql: sql)
        guard let prepared else {
            throw SQLiteError(extendedCode: SQLITE_MISUSE, message: "no SQL statement to prepare", sql: sql)
        }
        let statement = Statement(database: self, handle: prepared, sql: sql)
        guard SQLScanner.isBlank(text, from: end) else {
            throw SQLiteError(extendedCode: SQLITE_MISUSE,
                              message: "more than one statement; use execute(_:) for several statements", sql: sql)
        }
        return statement
    }

    /// The UTF-8 bytes of `sql` plus a terminating NUL; refuses embedded NULs, which SQLite would silently cut at.
    static func cText(_ sql: String) throws(SQLiteError) -> [UInt8] {
        var text = Array(sql.utf8)
        guard !text.contains(0) else {
            throw SQLiteError(extendedCode: SQLITE_MISUSE, message: "SQL text contains a NUL character", sql: sql)
        }
        guard text.count < Int32.max else {
            throw SQLiteError(extendedCode: SQLITE_TOOBIG, message: "SQL text is too long", sql: sql)
        }
        text.append(0)
        return text
    }

    /// Compiles the next statement at or after `offset` of `text`; returns nil at the end of the text (only blanks,
    /// semicolons and comments left) and the offset just after the statement.
    func prepareNext(_ text: [UInt8], from offset: Int, sql: String) throws(SQLiteError) -> (OpaquePointer?, Int) {
        var start = offset
        while start < text.count - 1 {
            let (prepared, end) = try prepareOne(text, from: start, sql: sql)
            if prepared != nil || end <= start { return (prepared, end) }
            start = end
        }
        return (nil, start)
    }

    /// One `sqlite3_prepare_v2` call at `offset`, followed by the app policy's own checks.
    private func prepareOne(_ text: [UInt8], from offset: Int, sql: String) throws(SQLiteError) -> (OpaquePointer?, Int) {
        guard let handle else { throw Database.closedError(sql: sql) }
        authorizer.lastRefusal = nil
        var prepared: OpaquePointer?
        var consumed = 0
        let rc = text.withUnsafeBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress, offset < buffer.count else { return SQLITE_MISUSE }
            return base.withMemoryRebound(to: CChar.self, capacity: buffer.count) { start in
                var tail: UnsafePointer<CChar>?
                let rc = sqlite3_prepare_v2(handle, start + offset, Int32(buffer.count - offset), &prepared, &tail)
                consumed = tail.map { $0 - (start + offset) } ?? (buffer.count - offset)
                return rc
            }
        }
        guard rc == SQLITE_OK else {
            sqlite3_finalize(prepared)
            throw authorizedError(rc, sql: sql)
        }
        let end = offset + consumed
        guard let prepared else { return (nil, end) }
        if let refusal = policyRefusal(text, from: offset, to: end) {
            sqlite3_finalize(prepared)
            authorizer.lastRefusal = refusal
            throw authorizedError(SQLITE_AUTH, sql: sql)
        }
        return (prepared, end)
    }
}
