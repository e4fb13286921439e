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

    /// `sql`'s statement (exactly one), compiled once and kept among the last `textCacheLimit` texts; the wrapper
    /// does not finalize it (eviction or `close()` does), so it must not outlive the caller's use. Only statements
    /// compiled under the connection's policy as it stands are kept (never one compiled as the host, which the
    /// policy might refuse): the policy's checks ran when it was compiled, and SQLite runs the authorizer again
    /// if it recompiles it after a schema change.
    func reusable(_ sql: String) throws(SQLiteError) -> Statement {
        if let handle = textCached[sql] { return Statement(database: self, handle: handle, sql: sql, owned: false) }
        let compiled = try prepare(sql)
        guard !authorizer.trusted, sql.utf8.count <= Self.textCacheMaxBytes else { return compiled }
        if textCachedOrder.count >= Self.textCacheLimit {
            let oldest = textCachedOrder.removeFirst()
            if let handle = textCached.removeValue(forKey: oldest) { sqlite3_finalize(handle) }
        }
        let handle = compiled.detach()
        textCached[sql] = handle
        textCachedOrder.append(sql)
        return Statement(database: self, handle: handle, sql: sql, owned: false)
    }

    /// How many run-time texts keep their compiled statement, and the longest text kept.
    static let textCacheLimit = 64
    static let textCacheMaxBytes = 4096

    /// Drops the statements kept by their text (the policy changed).
    func dropReusable() {
        for handle in textCached.values { sqlite3_finalize(handle) }
        textCached = [:]
        textCachedOrder = []
    }

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
