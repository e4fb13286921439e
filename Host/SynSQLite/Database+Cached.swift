import CSynSQLite

/// The host's own statements, compiled once per connection. A statement's SQL is a literal (`StaticString`), so an
/// app's SQL can never be one, and the cache holds at most one statement per literal in the binary.
extension Database {
    /// Runs one of the host's own statements with `arguments` and returns all its rows. It runs as the host: the
    /// app policy does not restrict it.
    public func cachedQuery(_ sql: StaticString, _ arguments: [SQLValue] = []) throws(SQLiteError) -> [[SQLValue]] {
        try trusted { () throws(SQLiteError) -> [[SQLValue]] in
            let statement = try cachedStatement(sql)
            defer { statement.finish() }
            try statement.bind(arguments)
            var rows: [[SQLValue]] = []
            while try statement.step() { rows.append(statement.row()) }
            return rows
        }
    }

    /// Runs one of the host's own statements with `arguments` and returns the rows it changed (`changes`). It
    /// runs as the host: the app policy does not restrict it.
    @discardableResult
    public func cachedExecute(_ sql: StaticString, _ arguments: [SQLValue] = []) throws(SQLiteError) -> Int {
        try trusted { () throws(SQLiteError) -> Int in
            let statement = try cachedStatement(sql)
            defer { statement.finish() }
            try statement.bind(arguments)
            while try statement.step() {}
            return changes
        }
    }

    /// `sql`'s statement (exactly one), compiled once and kept among the last `textCacheLimit` texts, within
    /// `textCacheBudget` bytes of SQLite's heap (the oldest go first); the wrapper
    /// does not finalize it (eviction or `close()` does), so it must not outlive the caller's use. Only statements
    /// compiled under the connection's policy as it stands are kept (never one compiled as the host, which the
    /// policy might refuse): the policy's checks ran when it was compiled, and SQLite runs the authorizer again
    /// if it recompiles it after a schema change.
    func reusable(_ sql: String) throws(SQLiteError) -> Statement {
        if !authorizer.trusted, let kept = textCached[sql] { return Statement(database: self, handle: kept.handle, sql: sql, owned: false) }
        let compiled = try prepare(sql)
        let bytes = Int(sqlite3_stmt_status(compiled.handle, SQLITE_STMTSTATUS_MEMUSED, 0))
        guard !authorizer.trusted, sql.utf8.count <= Self.textCacheMaxBytes, bytes <= Self.textCacheBudget / 4 else { return compiled }
        while !textCachedOrder.isEmpty && (textCachedOrder.count >= Self.textCacheLimit || textCachedBytes + bytes > Self.textCacheBudget) {
            let oldest = textCachedOrder.removeFirst()
            if let kept = textCached.removeValue(forKey: oldest) {
                sqlite3_finalize(kept.handle)
                textCachedBytes -= kept.bytes
            }
        }
        let handle = compiled.detach()
        textCached[sql] = (handle, bytes)
        textCachedOrder.append(sql)
        textCachedBytes += bytes
        return Statement(database: self, handle: handle, sql: sql, owned: false)
    }

    /// How many run-time texts keep their compiled statement, the longest text kept, and the SQLite heap they may
    /// take together (a statement over a quarter of it is not kept).
    static let textCacheLimit = 32
    static let textCacheMaxBytes = 4096
    static let textCacheBudget = 128 * 1024

    /// Drops the statements kept by their text (the policy changed).
    func dropReusable() {
        for kept in textCached.values { sqlite3_finalize(kept.handle) }
        textCached = [:]
        textCachedOrder = []
        textCachedBytes = 0
    }

    /// The SQLite heap the statements kept by their text take (`SQLITE_STMTSTATUS_MEMUSED`).
    public var reusableBytes: Int { textCachedBytes }

    /// `sql`'s statement, compiled on first use; the wrapper does not finalize it (`close()` does).
    private func cachedStatement(_ sql: StaticString) throws(SQLiteError) -> Statement {
        let key = UInt(bitPattern: sql.utf8Start)
        if let handle = cached[key] { return Statement(database: self, handle: handle, sql: sql.description, owned: false) }
        let compiled = try prepare(sql.description)
        let handle = compiled.detach()
        cached[key] = handle
        return Statement(database: self, handle: handle, sql: sql.description, owned: false)
    }
}
