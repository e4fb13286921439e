import CSynSQLite

/// SQLite's online backup of one connection's main database into another's, page by page in steps. Between steps
/// the source stays usable: writes through the source connection itself are copied into the backup as they commit;
/// a write through another connection makes the next step start over. Not `Sendable`: one thread drives it.
/// The corresponding C functions are `sqlite3_backup_init`, `_step`, `_remaining`, `_pagecount` and `_finish`.
public final class DatabaseBackup {
    private var handle: OpaquePointer?
    /// Both connections must outlive the backup.
    private let source: Database
    public let destination: Database

    /// Starts a backup of `source`'s main database into `destination`'s, which it replaces.
    public init(from source: Database, to destination: Database) throws(SQLiteError) {
        guard let s = source.handle, let d = destination.handle else { throw Database.closedError(sql: nil) }
        guard let backup = sqlite3_backup_init(d, "main", s, "main") else {
            throw destination.error(sqlite3_errcode(d), sql: nil)
        }
        handle = backup
        self.source = source
        self.destination = destination
    }

    deinit { if let handle { sqlite3_backup_finish(handle) } }

    /// Copies up to `pages` pages (all of them when `pages` is negative); true when the backup is complete. A source
    /// that another connection holds locked is not an error: the step copies nothing and is tried again later.
    public func step(pages: Int32) throws(SQLiteError) -> Bool {
        guard let handle else { return true }
        let rc = sqlite3_backup_step(handle, pages)
        switch rc {
        case SQLITE_DONE: return true
        case SQLITE_OK, SQLITE_BUSY, SQLITE_LOCKED: return false
        default: throw SQLiteError(extendedCode: rc, message: "backup step failed: \(String(cString: sqlite3_errstr(rc)))")
        }
    }

    /// Pages still to copy, as of the last step.
    public var remaining: Int { handle.map { Int(sqlite3_backup_remaining($0)) } ?? 0 }
    /// Pages in the source, as of the last step.
    public var pageCount: Int { handle.map { Int(sqlite3_backup_pagecount($0)) } ?? 0 }

    /// Ends the backup, releasing its locks; throws the first error any step met.
    public func finish() throws(SQLiteError) {
        guard let handle else { return }
        self.handle = nil
        let rc = sqlite3_backup_finish(handle)
        guard rc == SQLITE_OK else { throw SQLiteError(extendedCode: rc, message: "backup failed: \(String(cString: sqlite3_errstr(rc)))") }
    }
}
