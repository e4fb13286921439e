import SynSQLite

/// Runs `body` and returns the SQLiteError it throws, or nil if it succeeds.
func sqliteError<T>(_ body: () throws(SQLiteError) -> T) -> SQLiteError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// The single value of a one-row, one-column query.
func scalar(_ db: Database, _ sql: String, _ arguments: [SQLValue] = []) throws -> SQLValue? {
    try db.query(sql, arguments).first?.first
}
