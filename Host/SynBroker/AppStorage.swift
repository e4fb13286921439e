import SynSQLite
import SynSandbox
#if canImport(Glibc)
import Glibc
#endif

/// One app's database (`apps/<id>/app.db`): a small pool of connections, one held by each request that touches
/// storage, inside one transaction that `finish` commits or rolls back.
///
/// Connections are not thread-safe; each is used by one request (one worker instance thread) at a time, and
/// moves between threads only under `lock`.
final class AppStorage: @unchecked Sendable {
    let appID: String
    let path: String
    let quotaBytes: Int64
    private let lock = Mutex()
    private var idle: [Connection] = []
    private var active: [UInt64: Connection] = [:]

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
        let db = try open()
        do {
            try db.db.execute("""
                CREATE TABLE IF NOT EXISTS syn_kv (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL,
                                                   version INTEGER NOT NULL) WITHOUT ROWID
                """)
        } catch { throw BrokerFailure(BrokerStatus.io, "cannot prepare the KV table of '\(appID)': \(error)") }
        idle.append(db)
    }

    private func open() throws(BrokerFailure) -> Connection {
        do {
            let db = try Database(path: path)
            db.applyAppPolicy()
            try db.setMaxSize(bytes: quotaBytes)
            return Connection(db)
        } catch { throw BrokerFailure(BrokerStatus.io, "cannot open the database of '\(appID)': \(error)") }
    }

    /// The connection holding request `id`'s transaction, beginning it on first use.
    func connection(for id: UInt64) throws(BrokerFailure) -> Connection {
        if let db = lock.withLock({ active[id] }) { return db }
        let pooled: Connection? = lock.withLock { idle.popLast() }
        let db: Connection
        if let pooled { db = pooled } else { db = try open() }
        do { try db.db.beginImmediate() } catch {
            lock.withLock { idle.append(db) }
            throw Self.failure(error, "begin a transaction")
        }
        lock.withLock { active[id] = db }
        return db
    }

    /// Ends request `id`'s transaction, if it had one.
    func finish(_ id: UInt64, commit: Bool) {
        guard let db = lock.withLock({ active.removeValue(forKey: id) }) else { return }
        if commit {
            do { try db.db.commit() } catch { try? db.db.rollback() }
        } else {
            try? db.db.rollback()
        }
        lock.withLock { idle.append(db) }
    }

    // MARK: - KV

    func get(_ id: UInt64, key: [UInt8]) throws(BrokerFailure) -> (value: [UInt8], version: UInt64) {
        let rows = try run(id, "SELECT value, version FROM syn_kv WHERE key = ?", [.blob(key)])
        guard let row = rows.first, case .blob(let value) = row[0], case .integer(let version) = row[1] else {
            throw BrokerFailure(BrokerStatus.notFound, "kv_get: no such key")
        }
        return (value, UInt64(version))
    }

    /// `ifVersion` 0: any; `UInt64.max`: only if absent; else the current version must match.
    func put(_ id: UInt64, key: [UInt8], value: [UInt8], ifVersion: UInt64) throws(BrokerFailure) -> UInt64 {
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
            throw Self.failure(error, "sql_exec", limitMs: limit)
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
            throw Self.failure(error, "sql_query", limitMs: limit)
        }
    }

    private func run(_ id: UInt64, _ sql: String, _ parameters: [SQLValue]) throws(BrokerFailure) -> [[SQLValue]] {
        let db = try connection(for: id)
        do { return try db.run(sql, parameters) } catch { throw Self.failure(error, "kv") }
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
