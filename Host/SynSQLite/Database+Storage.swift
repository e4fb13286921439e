import CSynSQLite

extension Database {
    /// Sets the storage quota: `PRAGMA max_page_count` of `bytes` rounded down to whole pages. The limit is never set
    /// below the pages already in use (SQLite refuses that too), so an over-quota database keeps its data and only
    /// refuses to grow. Writes past the quota fail with `SQLiteError.full` and leave the database intact.
    ///
    /// The limit belongs to this connection: set it again after each open. Returns the limit in bytes.
    @discardableResult
    public func setMaxSize(bytes: Int64) throws(SQLiteError) -> Int64 {
        guard bytes >= 0 else {
            throw SQLiteError(extendedCode: SQLITE_RANGE, message: "the size limit must not be negative")
        }
        return try trusted { () throws(SQLiteError) -> Int64 in
            let pageSize = max(try pragmaInteger("page_size"), 1)
            let used = try pragmaInteger("page_count")
            let pages = min(max(bytes / pageSize, used, 1), Int64(UInt32.max - 1))
            let sql = "PRAGMA max_page_count = \(pages)"
            let limit = try integer(sql)
            return limit * pageSize
        }
    }

    /// The current quota in bytes (`max_page_count * page_size`).
    public func maxSize() throws(SQLiteError) -> Int64 {
        try trusted { () throws(SQLiteError) -> Int64 in
            try pragmaInteger("max_page_count") * pragmaInteger("page_size")
        }
    }

    /// The database's size in bytes (`page_count * page_size`, including pages still in the WAL); 0 if it cannot be
    /// read (e.g. closed).
    public var sizeBytes: Int64 {
        let size = try? trusted { () throws(SQLiteError) -> Int64 in
            try pragmaInteger("page_count") * pragmaInteger("page_size")
        }
        return size ?? 0
    }

    /// Copies the WAL into the database file and truncates the WAL (`wal_checkpoint(TRUNCATE)`).
    /// The corresponding C function is `sqlite3_wal_checkpoint_v2`.
    public func checkpoint() throws(SQLiteError) {
        guard let handle else { throw Database.closedError(sql: nil) }
        let rc = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_TRUNCATE, nil, nil)
        guard rc == SQLITE_OK else { throw error(rc, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    /// Rebuilds the database to reclaim free pages (`VACUUM`), as the host. Plain `VACUUM` needs one attached
    /// database, so the attach limit is raised to 1 for the call only.
    public func vacuum() throws(SQLiteError) {
        guard let handle else { throw Database.closedError(sql: "VACUUM") }
        sqlite3_limit(handle, SQLITE_LIMIT_ATTACHED, 1)
        defer { sqlite3_limit(handle, SQLITE_LIMIT_ATTACHED, 0) }
        try trusted { () throws(SQLiteError) in try execute("VACUUM") }
    }

    /// The integer result of `PRAGMA name`.
    private func pragmaInteger(_ name: String) throws(SQLiteError) -> Int64 {
        try integer("PRAGMA \(name)")
    }

    /// The first column of the first row of `sql`, which must be an integer.
    private func integer(_ sql: String) throws(SQLiteError) -> Int64 {
        guard case .integer(let value)? = try query(sql).first?.first else {
            throw SQLiteError(extendedCode: SQLITE_ERROR, message: "expected an integer result", sql: sql)
        }
        return value
    }
}
