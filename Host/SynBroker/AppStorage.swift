import SynSQLite
import SynSandbox
#if canImport(Glibc)
import Glibc
#endif

/// One app's database (`apps/<id>/app.db`): one connection, held by one request at a time inside one transaction
/// that `finish` commits or rolls back.
///
/// The connection locks the file exclusively (`locking_mode=EXCLUSIVE`): the host owns the database, so a
/// transaction takes no file-lock syscalls and the WAL index lives in the heap. Every storage call of a request
/// runs in a write transaction, so requests of the same app were serialised by SQLite's write lock anyway; now
/// they wait their turn at the `Turnstile`, for at most `busyTimeoutMs`.
final class AppStorage: @unchecked Sendable {
    let appID: String
    let path: String
    let quotaBytes: Int64
    private let lock = Mutex()
    private let turnstile = Turnstile()
    private let db: Connection
    /// Requests whose transaction SQLite itself rolled back (a full database, say): nothing more may be written in
    /// them, and they cannot commit.
    private var lost: [UInt64: BrokerFailure] = [:]
    private var closed = false
    /// How long a request waits for another request of the same app to finish with the database.
    static let busyTimeoutMs = 5000

    /// A connection with its prepared KV statements, reused across requests.
    final class Connection {
        let db: Database
        private var statements: [String: Statement] = [:]
        init(_ db: Database) { self.db = db }

        /// Runs one cached statement and returns its rows.
        func run(_ sql: String, _ parameters: [SQLValue]) throws(SQLiteError) -> [[SQLValue]] {
            let statement: Statement
            if let cached = statements[sql] { statement = cached } else {
                statement = try db.prepare(sql)
                statements[sql] = statement
            }
            defer { try? statement.reset() }
            try statement.bind(parameters)
            var rows: [[SQLValue]] = []
            while try statement.step() { rows.append(statement.row()) }
            return rows
        }

        /// Finalizes the cached statements and closes the connection (which checkpoints the WAL into the file).
        func close() {
            statements.removeAll()
            db.close()
        }

        /// Transaction control through the statement cache: preparing them anew cost more than running them.
        func begin() throws(SQLiteError) { _ = try run("BEGIN IMMEDIATE", []) }
        func commit() throws(SQLiteError) { _ = try run("COMMIT", []) }
        func rollback() {
            if db.isInTransaction { _ = try? run("ROLLBACK", []) }
        }
    }
    static let maxScan = 1000
    static let maxRows = 10_000
    /// No single statement of an app may run longer: a runaway query would otherwise hold a host thread and the
    /// database's write lock long after the app's worker was killed for its call timeout.
    static let maxStatementMs = 5000

    init(appID: String, directory: String, quotaBytes: Int64) throws(BrokerFailure) {
        self.appID = appID
        self.path = directory + "/app.db"
        self.quotaBytes = quotaBytes
        do {
            var options = Database.Options()
            options.exclusive = true
            let opened = try Database(path: path, options: options)
            opened.applyAppPolicy()
            try opened.setMaxSize(bytes: quotaBytes)
            try opened.execute("""
                CREATE TABLE IF NOT EXISTS syn_kv (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL,
                                                   version INTEGER NOT NULL) WITHOUT ROWID
                """)
            db = Connection(opened)
        } catch { throw BrokerFailure(BrokerStatus.io, "cannot open the database of '\(appID)': \(error)") }
    }

    /// The connection holding request `id`'s transaction, beginning it on first use.
    func connection(for id: UInt64) throws(BrokerFailure) -> Connection {
        let (failure, isClosed) = lock.withLock { (lost[id], closed) }
        if let failure { throw failure }
        if isClosed { throw BrokerFailure(BrokerStatus.io, "the database of '\(appID)' is closed: the node is stopping") }
        if turnstile.holder == id { return db }
        guard turnstile.enter(id, timeoutMs: Self.busyTimeoutMs) else {
            throw BrokerFailure(BrokerStatus.io, "the database of '\(appID)' stayed busy with another request for \(Self.busyTimeoutMs) ms")
        }
        if lock.withLock({ closed }) {
            turnstile.leave(id)
            throw BrokerFailure(BrokerStatus.io, "the database of '\(appID)' is closed: the node is stopping")
        }
        do { try db.begin() } catch {
            turnstile.leave(id)
            throw Self.failure(error, "begin a transaction")
        }
        return db
    }

    /// Closes the database for good, after the request holding it (if any) finishes or the busy timeout passes;
    /// an unfinished transaction is rolled back. Later storage calls fail.
    func close() {
        let closing = UInt64.max
        let entered = turnstile.enter(closing, timeoutMs: Self.busyTimeoutMs)
        lock.withLock { closed = true }
        db.rollback()
        db.close()
        if entered { turnstile.leave(closing) }
    }

    /// Ends request `id`'s transaction, if it had one. Returns why a commit failed (the writes were rolled back).
    func finish(_ id: UInt64, commit: Bool) -> BrokerFailure? {
        let failure = lock.withLock { lost.removeValue(forKey: id) }
        guard turnstile.holder == id else { return nil }
        defer { turnstile.leave(id) }
        if let failure {
            db.rollback()
            return commit ? failure : nil
        }
        guard commit else {
            db.rollback()
            return nil
        }
        do { try db.commit() } catch {
            db.rollback()
            return Self.failure(error, "commit")
        }
        return nil
    }

    // MARK: - KV

    func get(_ id: UInt64, key: [UInt8]) throws(BrokerFailure) -> (value: [UInt8], version: UInt64) {
        let rows = try run(id, "SELECT value, version FROM syn_kv WHERE key = ?", [.blob(key)])
        guard let row = rows.first, case .blob(let value) = row[0], case .integer(let version) = row[1] else {
            throw BrokerFailure(BrokerStatus.notFound, "kv_get: no such key")
        }
        return (value, UInt64(version))
    }

    /// `ifVersion` 0: any; `UInt64.max`: only if absent; else the current version must match. Returns the new
    /// version (0 for a blind put when `wantVersion` is false: a written-behind put needs none).
    func put(_ id: UInt64, key: [UInt8], value: [UInt8], ifVersion: UInt64, wantVersion: Bool = true) throws(BrokerFailure) -> UInt64 {
        if ifVersion == 0 {
            // A blind put is one statement: insert at version 1, or bump the version in place. (Not `RETURNING`:
            // SQLite 3.40 runs it through a temporary table, 15 times slower than the statement itself.)
            _ = try run(id, "INSERT INTO syn_kv(key, value, version) VALUES (?, ?, 1) ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = syn_kv.version + 1",
                        [.blob(key), .blob(value)])
            guard wantVersion else { return 0 }
            guard let row = try run(id, "SELECT version FROM syn_kv WHERE key = ?", [.blob(key)]).first,
                  case .integer(let version) = row[0] else {
                throw BrokerFailure(BrokerStatus.io, "kv_put: the key vanished inside its own transaction")
            }
            return UInt64(version)
        }
        let current = try run(id, "SELECT version FROM syn_kv WHERE key = ?", [.blob(key)]).first.flatMap { row -> UInt64? in
            if case .integer(let v) = row[0] { return UInt64(v) }
            return nil
        }
        switch (ifVersion, current) {
        case (UInt64.max, .some(let v)): throw BrokerFailure(BrokerStatus.conflict, "kv_put: the key exists (version \(v)) and if_version asks for absent")
        case (0, _), (UInt64.max, nil): break
        case (let want, let have) where have != want:
            throw BrokerFailure(BrokerStatus.conflict, "kv_put: version is \(have.map(String.init) ?? "absent"), if_version was \(want)")
        default: break
        }
        let next = (current ?? 0) + 1
        _ = try run(id, "INSERT INTO syn_kv(key, value, version) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = excluded.version",
                    [.blob(key), .blob(value), .integer(Int64(next))])
        return next
    }

    func delete(_ id: UInt64, key: [UInt8], ifVersion: UInt64) throws(BrokerFailure) {
        let current = try run(id, "SELECT version FROM syn_kv WHERE key = ?", [.blob(key)]).first
        guard let current, case .integer(let v) = current[0] else {
            throw BrokerFailure(BrokerStatus.notFound, "kv_delete: no such key")
        }
        guard ifVersion == 0 || UInt64(v) == ifVersion else {
            throw BrokerFailure(BrokerStatus.conflict, "kv_delete: version is \(v), if_version was \(ifVersion)")
        }
        _ = try run(id, "DELETE FROM syn_kv WHERE key = ?", [.blob(key)])
    }

    /// Keys with `prefix` after `cursor`, at most `limit` (1...1000; 0 means 100). The next cursor is empty at the end.
    func scan(_ id: UInt64, prefix: [UInt8], cursor: [UInt8], limit: UInt32) throws(BrokerFailure)
        -> (page: [UInt8], next: [UInt8])
    {
        let n = limit == 0 ? 100 : min(Int(limit), Self.maxScan)
        let rows = try run(id, """
            SELECT key, value, version FROM syn_kv
            WHERE substr(key, 1, length(?1)) = ?1 AND key > ?2 ORDER BY key LIMIT ?3
            """, [.blob(prefix), .blob(cursor), .integer(Int64(n + 1))])
        var entries: [String] = []
        var last: [UInt8] = []
        for row in rows.prefix(n) {
            guard case .blob(let k) = row[0], case .blob(let v) = row[1], case .integer(let version) = row[2] else { continue }
            entries.append("{\"key\":\(JSONValues.bytes(k)),\"value\":\(JSONValues.bytes(v)),\"version\":\(version)}")
            last = k
        }
        return (Array(("[" + entries.joined(separator: ",") + "]").utf8), rows.count > n ? last : [])
    }

    // MARK: - SQL

    /// How long one of the app's statements may run: at most `maxStatementMs`, and never past the call's deadline
    /// (less a margin to answer the app in time).
    static func statementLimitMs(callDeadlineNs: Int64) -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let now = Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
        let remainingMs = (callDeadlineNs - now) / 1_000_000 - 50
        return Int(max(1, min(Int64(maxStatementMs), remainingMs)))
    }

    func exec(_ id: UInt64, sql: String, parameters: [SQLValue], deadlineNs: Int64) throws(BrokerFailure) -> UInt64 {
        let db = try connection(for: id)
        let limit = Self.statementLimitMs(callDeadlineNs: deadlineNs)
        db.db.limitStatements(toMilliseconds: limit)
        defer { db.db.limitStatements(toMilliseconds: nil) }
        do { return UInt64(max(try db.db.execute(sql, parameters), 0)) } catch {
            throw lose(id, db, Self.failure(error, "sql_exec", limitMs: limit))
        }
    }

    func query(_ id: UInt64, sql: String, parameters: [SQLValue], maxBytes: Int, deadlineNs: Int64) throws(BrokerFailure)
        -> [[SQLValue]]
    {
        let db = try connection(for: id)
        let limit = Self.statementLimitMs(callDeadlineNs: deadlineNs)
        db.db.limitStatements(toMilliseconds: limit)
        defer { db.db.limitStatements(toMilliseconds: nil) }
        do { return try db.db.query(sql, parameters, limitRows: Self.maxRows, limitBytes: maxBytes) } catch {
            throw lose(id, db, Self.failure(error, "sql_query", limitMs: limit))
        }
    }

    private func run(_ id: UInt64, _ sql: String, _ parameters: [SQLValue]) throws(BrokerFailure) -> [[SQLValue]] {
        let db = try connection(for: id)
        do { return try db.run(sql, parameters) } catch { throw lose(id, db, Self.failure(error, "kv")) }
    }

    /// A failed statement may have made SQLite roll back the whole transaction (SQLITE_FULL can): then the request
    /// is lost, and says so from now on instead of writing on outside any transaction.
    private func lose(_ id: UInt64, _ db: Connection, _ failure: BrokerFailure) -> BrokerFailure {
        guard !db.db.isInTransaction else { return failure }
        let lostFailure = BrokerFailure(failure.status,
                                        failure.message + "; SQLite rolled back this call's transaction, so nothing it wrote is kept")
        lock.withLock { lost[id] = lostFailure }
        return lostFailure
    }

    /// SQLite errors as app-facing statuses: full → quota, authorizer → denied, constraint → conflict.
    static func failure(_ error: SQLiteError, _ what: String, limitMs: Int = maxStatementMs) -> BrokerFailure {
        switch error.code {
        case SQLiteError.full:
            BrokerFailure(BrokerStatus.quota, "\(what): the app's storage quota is full (node.toml key apps.<id>.storage_quota_mb)")
        case SQLiteError.auth: BrokerFailure(BrokerStatus.denied, "\(what): \(error.message)")
        case SQLiteError.constraint: BrokerFailure(BrokerStatus.conflict, "\(what): \(error.message)")
        case SQLiteError.tooBig: BrokerFailure(BrokerStatus.tooLarge, "\(what): \(error.message)")
        case SQLiteError.busy: BrokerFailure(BrokerStatus.io, "\(what): the database is busy")
        case SQLiteError.interrupt:
            BrokerFailure(BrokerStatus.timeout, "\(what): the statement ran longer than \(limitMs) ms and was stopped")
        case SQLiteError.error, SQLiteError.range, SQLiteError.misuse: BrokerFailure(BrokerStatus.badArg, "\(what): \(error.message)")
        default: BrokerFailure(BrokerStatus.io, "\(what): \(error.message)")
        }
    }
}
