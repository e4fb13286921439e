import CSynSQLite

/// A connection to one SQLite database file.
///
/// Explicitly not `Sendable` (as in GRDB): create it, use it and close it on one thread. Every connection is opened
/// in WAL mode with `synchronous=NORMAL`, `foreign_keys=ON`, defensive mode on, `trusted_schema` off, extension
/// loading and the two-argument `fts3_tokenizer()` disabled, no helper threads, and the length limits of
/// `Options.Limits`; `ATTACH` is limited to zero databases (so `VACUUM` through `execute` fails too: use `vacuum()`).
/// Call `applyAppPolicy()` before running an app's SQL; open a file the host does not trust with `Options.untrusted`.
public final class Database {
    /// The path the connection was opened with.
    public let path: String
    /// The `sqlite3` handle; nil once closed.
    var handle: OpaquePointer?
    /// Shared with the authorizer callback; lives as long as the connection.
    let authorizer = AuthorizerState()
    /// Shared with the progress handler; lives as long as the connection.
    let deadline = StatementDeadline()
    /// The host's own statements, compiled once, by the address of their SQL literal; finalized by `close()`.
    var cached: [UInt: OpaquePointer] = [:]
    /// Statements compiled from run-time text (an app's SQL, say), by their text: at most `textCacheLimit`, the
    /// oldest dropped first; finalized by `close()`.
    var textCached: [String: (handle: OpaquePointer, bytes: Int)] = [:]
    var textCachedOrder: [String] = []
    var textCachedBytes = 0

    /// Opens the database at `path`, creating it if `options.create` allows, and applies the connection settings.
    /// The corresponding C function is `sqlite3_open_v2`.
    public init(path: String, options: Options = .init()) throws(SQLiteError) {
        self.path = path
        guard !path.utf8.contains(0) else {
            throw SQLiteError(extendedCode: SQLITE_CANTOPEN, message: "the database path contains a NUL character")
        }
        var flags = SQLITE_OPEN_EXRESCODE
        if options.singleThread { flags |= SQLITE_OPEN_NOMUTEX }
        var name = path
        if options.immutable {
            flags |= SQLITE_OPEN_URI
            // `file://` then the absolute path: a path of its own starting with `//` is never read as an authority.
            let absolute = path.hasPrefix("/") ? path : "./" + path
            name = (path.hasPrefix("/") ? "file://" : "file:") + Database.uriEscaped(absolute) + "?immutable=1"
        } else if path.hasPrefix("file:") {
            // This SQLite reads names starting with `file:` as URIs (SQLITE_USE_URI); a path is a path.
            name = "./" + path
        }
        if options.readOnly || options.immutable {
            flags |= SQLITE_OPEN_READONLY
        } else {
            flags |= SQLITE_OPEN_READWRITE
            if options.create { flags |= SQLITE_OPEN_CREATE }
        }
        var opened: OpaquePointer?
        let rc = sqlite3_open_v2(name, &opened, flags, nil)
        guard rc == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(opened)
            throw SQLiteError(extendedCode: rc, message: "\(message): \(path)")
        }
        handle = opened
        do {
            try configure(opened, options)
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Applies the settings every connection gets (see the type's documentation).
    private func configure(_ db: OpaquePointer, _ options: Options) throws(SQLiteError) {
        sqlite3_extended_result_codes(db, 1)
        if !options.lookaside { _ = csyn_sqlite3_lookaside(db, 0, 0) }
        sqlite3_busy_timeout(db, max(options.busyTimeoutMs, 0))
        try setFlag(SQLITE_DBCONFIG_DEFENSIVE, true, name: "defensive mode")
        try setFlag(SQLITE_DBCONFIG_TRUSTED_SCHEMA, false, name: "trusted_schema")
        try setFlag(SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, false, name: "load_extension")
        // Debian builds SQLite with the FTS3 tokenizer interface: fts3_tokenizer('x', <bytes>) installs a function
        // pointer of the caller's choosing.
        try setFlag(SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, false, name: "fts3_tokenizer")
        sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0)
        sqlite3_limit(db, SQLITE_LIMIT_WORKER_THREADS, 0)
        sqlite3_limit(db, SQLITE_LIMIT_LENGTH, options.limits.length)
        sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, options.limits.sqlLength)
        sqlite3_limit(db, SQLITE_LIMIT_EXPR_DEPTH, options.limits.exprDepth)
        sqlite3_limit(db, SQLITE_LIMIT_COMPOUND_SELECT, options.limits.compoundSelect)
        sqlite3_limit(db, SQLITE_LIMIT_TRIGGER_DEPTH, options.limits.triggerDepth)
        sqlite3_limit(db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, options.limits.likePatternLength)
        if options.untrusted {
            // SQLite's advice for database files from elsewhere: check cells as they are read, never map the
            // file, and refuse any write.
            try execute("PRAGMA cell_size_check=ON")
            try execute("PRAGMA mmap_size=0")
            try execute("PRAGMA query_only=ON")
        }
        if options.exclusive { try execute("PRAGMA locking_mode=EXCLUSIVE") }
        if options.noJournal && !options.readOnly && !options.immutable {
            // MEMORY, not OFF: defensive mode refuses OFF. Either way no journal file is made.
            let sql = "PRAGMA journal_mode=MEMORY"
            guard case .text("memory")? = try query(sql).first?.first else {
                throw SQLiteError(extendedCode: SQLITE_ERROR, message: "could not keep the journal in memory", sql: sql)
            }
        } else if !options.readOnly && !options.immutable {
            let sql = "PRAGMA journal_mode=WAL"
            let mode = try query(sql).first?.first
            // In-memory and temporary databases cannot use WAL; files must.
            guard case .text(let name)? = mode, name == "wal" || name == "memory" else {
                throw SQLiteError(extendedCode: SQLITE_ERROR, message: "could not enable WAL journal mode", sql: sql)
            }
        }
        try execute("PRAGMA synchronous=NORMAL")
        try execute("PRAGMA foreign_keys=ON")
    }

    /// `path` for a `file:` URI: `%`, `?` and `#` percent-encoded.
    static func uriEscaped(_ path: String) -> String {
        var out = ""
        for c in path.unicodeScalars {
            switch c {
            case "%": out += "%25"
            case "?": out += "%3F"
            case "#": out += "%23"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Sets a boolean `sqlite3_db_config` option and checks that it took.
    private func setFlag(_ option: Int32, _ on: Bool, name: String) throws(SQLiteError) {
        guard let handle else { throw Database.closedError(sql: nil) }
        var result: Int32 = -1
        let rc = csyn_sqlite3_db_config_flag(handle, option, on ? 1 : 0, &result)
        guard rc == SQLITE_OK, result == (on ? 1 : 0) else {
            throw SQLiteError(extendedCode: rc == SQLITE_OK ? SQLITE_ERROR : rc,
                              message: "could not set \(name) to \(on ? "on" : "off")")
        }
    }

    /// Closes the connection; later calls do nothing. Statements still alive fail with `SQLiteError.misuse`.
    /// The corresponding C function is `sqlite3_close_v2`.
    public func close() {
        guard let handle else { return }
        self.handle = nil
        for statement in cached.values { sqlite3_finalize(statement) }
        dropReusable()
        cached = [:]
        sqlite3_set_authorizer(handle, nil, nil)
        sqlite3_close_v2(handle)
    }

    /// Whether the connection is open.
    public var isOpen: Bool { handle != nil }

    /// The OS error (`errno`) behind the most recent I/O failure, e.g. `EFBIG` past `RLIMIT_FSIZE`; 0 if none.
    /// The corresponding C function is `sqlite3_system_errno`.
    public var systemErrno: Int32 {
        guard let handle else { return 0 }
        return sqlite3_system_errno(handle)
    }

    /// How long a statement waits for another connection's lock before failing with `SQLiteError.busy`.
    /// The corresponding C function is `sqlite3_busy_timeout`.
    public func setBusyTimeout(milliseconds: Int) {
        guard let handle else { return }
        sqlite3_busy_timeout(handle, Int32(clamping: max(milliseconds, 0)))
    }

    /// Keeps the WAL file when the last connection closes (`SQLITE_FCNTL_PERSIST_WAL`), so it is never unlinked
    /// and need never be created again. The corresponding C function is `sqlite3_file_control`.
    public func keepWALOnClose() throws(SQLiteError) {
        guard let handle else { throw Database.closedError(sql: nil) }
        var on: Int32 = 1
        let rc = sqlite3_file_control(handle, "main", SQLITE_FCNTL_PERSIST_WAL, &on)
        guard rc == SQLITE_OK else { throw error(rc, sql: nil) }
    }

    /// Rows changed by the most recent INSERT, UPDATE or DELETE; 0 when closed.
    /// The corresponding C function is `sqlite3_changes64`.
    public var changes: Int {
        guard let handle else { return 0 }
        return Int(sqlite3_changes64(handle))
    }

    /// The rowid of the most recent successful INSERT; 0 when closed.
    /// The corresponding C function is `sqlite3_last_insert_rowid`.
    public var lastInsertRowID: Int64 {
        guard let handle else { return 0 }
        return sqlite3_last_insert_rowid(handle)
    }

    /// Whether a transaction is open (the connection is not in autocommit mode).
    /// The corresponding C function is `sqlite3_get_autocommit`.
    public var isInTransaction: Bool {
        guard let handle else { return false }
        return sqlite3_get_autocommit(handle) == 0
    }

    /// The error for `rc`, with SQLite's message.
    func error(_ rc: Int32, sql: String?) -> SQLiteError {
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
        return SQLiteError(extendedCode: rc, message: message, sql: sql)
    }

    /// The error for `rc` from a prepare or step during which the authorizer ran: if it refused something, that
    /// refusal is the cause, reported as `SQLiteError.auth` naming what was refused. (SQLite itself reports a
    /// refused function as a generic error.)
    func authorizedError(_ rc: Int32, sql: String?) -> SQLiteError {
        guard let refusal = authorizer.lastRefusal else { return error(rc, sql: sql) }
        return SQLiteError(extendedCode: SQLITE_AUTH, message: "not authorized: \(refusal)", sql: sql)
    }

    /// The error for using a closed connection.
    static func closedError(sql: String?) -> SQLiteError {
        SQLiteError(extendedCode: SQLITE_MISUSE, message: "the database connection is closed", sql: sql)
    }
}

@available(*, unavailable)
extension Database: Sendable {}
