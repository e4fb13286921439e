import SynSQLite

/// A database file the node did not write (an app's, or one from an archive), checked as SQLite advises for such
/// files: opened read-only and immutable, cells checked as they are read, SQLite's heap capped, the check stopped
/// at a time limit. `doctor` and `restore` both check databases this way.
enum UntrustedDatabase {
    /// SQLite's heap in this process while a check runs.
    static let heapLimitBytes: Int64 = 256 << 20

    /// Runs `PRAGMA <check>` (`quick_check` or `integrity_check`) on the file at `path`: nil when it answers "ok",
    /// else the first rows it answered. Throws what SQLite refused (busy, interrupted, not a database).
    static func check(_ path: String, _ check: String, limitMs: Int) throws(SQLiteError) -> String? {
        var options = Database.Options()
        options.readOnly = true
        options.immutable = true
        options.untrusted = true
        options.busyTimeoutMs = 0
        Database.limitHeap(bytes: heapLimitBytes)
        let db = try Database(path: path, options: options)
        defer { db.close() }
        db.limitStatements(toMilliseconds: limitMs)
        let rows = try db.query("PRAGMA \(check)")
        guard case .text(let verdict)? = rows.first?.first, verdict == "ok" else { return "\(check): \(rows.prefix(3))" }
        return nil
    }
}
