import CSynSQLite

extension Database {
    /// Installs the app-database policy; it stays for the life of the connection.
    ///
    /// Refused, at prepare time with `SQLiteError.auth` and a message naming what was refused:
    /// - `ATTACH`, `DETACH`, `VACUUM` and `VACUUM INTO`, and the `load_extension()` function;
    /// - `BEGIN`, `COMMIT`, `END` and `ROLLBACK` (not `SAVEPOINT`, `RELEASE` or `ROLLBACK TO`): the host's code owns the
    ///   transaction (`beginImmediate`, `commit`, `rollback`, `cachedExecute`);
    /// - every PRAGMA except `table_info`, `table_xinfo`, `index_list`, `index_info`, `index_xinfo`,
    ///   `foreign_key_list`, `foreign_key_check`, `integrity_check`, `quick_check` and `user_version` (read and set),
    ///   and the queries (not settings) of `application_id`, `page_count`, `page_size`, `freelist_count` and
    ///   `max_page_count`.
    ///
    /// A `pragma_*` table-valued function is checked when it runs, so it fails at `step()` instead. The host's own
    /// calls on this type (`setMaxSize`, `sizeBytes`, `vacuum`, `checkpoint`) are not restricted.
    /// The corresponding C function is `sqlite3_set_authorizer`.
    public func applyAppPolicy() {
        guard let handle, !authorizer.policyApplied else { return }
        authorizer.policyApplied = true
        dropReusable()
        let context = Unmanaged.passUnretained(authorizer).toOpaque()
        sqlite3_set_authorizer(handle, { context, action, first, second, _, _ in
            guard let context else { return SQLITE_OK }
            let state = Unmanaged<AuthorizerState>.fromOpaque(context).takeUnretainedValue()
            if state.trusted { return SQLITE_OK }
            let refusal = AppPolicy.refusal(action: action, first.map { String(cString: $0) },
                                            second.map { String(cString: $0) })
            guard let refusal else { return SQLITE_OK }
            state.lastRefusal = refusal
            return SQLITE_DENY
        }, context)
    }

    /// Whether `applyAppPolicy()` has been called on this connection.
    public var hasAppPolicy: Bool { authorizer.policyApplied }

    /// Why the statement in `text[start..<end]` is refused by the app policy beyond what the authorizer sees.
    func policyRefusal(_ text: [UInt8], from start: Int, to end: Int) -> String? {
        guard authorizer.policyApplied, !authorizer.trusted else { return nil }
        return AppPolicy.statementRefusal(words: SQLScanner.leadingWords(text, from: start, to: end, count: 3))
    }

    /// Runs `body` as the host: the app policy does not restrict the statements it compiles or runs (including
    /// SQLite's recompiling of them after a schema change).
    public func asHost<T>(_ body: () throws(SQLiteError) -> T) throws(SQLiteError) -> T { try trusted(body) }

    /// Runs `body` as the host: the app policy does not restrict it.
    func trusted<T>(_ body: () throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        let previous = authorizer.trusted
        authorizer.trusted = true
        defer { authorizer.trusted = previous }
        return try body()
    }
}
