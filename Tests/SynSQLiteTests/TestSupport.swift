import SynSQLite
import SynTestSupport

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

/// An app database (the app policy applied) in a scratch directory, with a table `t(id, x)`.
func appDatabase() throws -> (TempDir, Database) {
    let dir = TempDir()
    let db = try Database(path: dir.file("app.db"))
    db.applyAppPolicy()
    try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, x TEXT)")
    return (dir, db)
}
