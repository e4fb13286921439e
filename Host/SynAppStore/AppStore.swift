import SynSQLite
import SynSystem
import SynText
import SynWire
#if canImport(Glibc)
import Glibc
#endif

/// One app's database as its own worker runs it: the `syn_kv` table behind the `kv_*` slots, the app's SQL behind
/// `sql_*`, and one transaction per call.
///
/// The transaction begins (`BEGIN IMMEDIATE`) with the call's first storage slot and ends with the call:
/// `endCall(commit:)` commits or rolls back. Instances of one app share the file through SQLite's WAL locking, so
/// their writing calls take turns, each waiting at most its call's time. Each statement of the app stops at
/// `maxStatementMs` or a little before the call's deadline. Not `Sendable`: the worker uses it on one thread.
public final class AppStore {
    /// Largest key, value and SQL text a slot accepts.
    public static let maxKey = 1024
    public static let maxValue = 1 << 20
    public static let maxSQL = 64 * 1024
    /// Most entries one `kv_scan` page holds, and most rows one `sql_query` returns.
    public static let maxScan = 1000
    public static let maxRows = 10_000
    /// No single statement of the app runs longer.
    public static let maxStatementMs = 5000
    /// The WAL is cut back to this size after a checkpoint.
    static let walKeepBytes: Int64 = 4 << 20
    /// SQLite's page cache in the worker, KiB (its default is 2000): the worker's memory is small, and pages it
    /// drops are read again from the kernel's page cache.
    static let pageCacheKiB = 512

    let database: Database
    /// A backup under way between calls (`backupStep`).
    var backupInProgress: DatabaseBackup?
    public let quotaBytes: Int64
    /// The call's transaction control, compiled once outside the app policy (which refuses it in app SQL).
    private let callTimeoutMs: Int
    /// The call's transaction is open.
    var began = false
    /// The outbox's identity (`syn_meta.outbox_epoch`), sent with each batch.
    public let outboxEpoch: [UInt8]
    /// The host has stored every outbox row up to here; rows up to `outboxDeleted` are gone from the table.
    var outboxAcknowledged: Int64 = 0
    var outboxDeleted: Int64 = 0
    /// What the current transaction deletes from the outbox when it commits.
    var outboxDeleting: Int64 = 0
    /// Rows may be waiting for the host (written by this call, left by an earlier worker, or not yet acknowledged).
    public internal(set) var outboxPending = false
    /// SQLite rolled the call's transaction back (a full quota, say): it cannot commit, and says so.
    private var lost: StoreFailure?
    private var callDeadlineNs: Int64 = .max

    /// Opens the app's database at `path` (through the descriptor jail in a worker), capped at `quotaBytes`.
    ///
    /// Temporary tables and indices live in memory, counted against the worker's memory limit; the WAL is kept on
    /// close and cut back after checkpoints; the app policy (authorizer) covers everything the app runs.
    /// `shared`: other processes use the database at the same time (WAL locking); otherwise this connection holds
    /// it exclusively for its life, with the WAL index in its own memory and no lock calls per transaction.
    ///
    /// `hostCursor` is the node's cursor of this outbox (`WorkerSetup.Storage.cursorEpoch`); a database whose outbox
    /// is behind it under the same epoch was restored from an older copy, and gets a new epoch here.
    public init(path: String, quotaBytes: Int64, callTimeoutMs: Int, shared: Bool = true,
                hostCursor: (epoch: [UInt8], seq: Int64)? = nil) throws(StoreFailure) {
        self.quotaBytes = quotaBytes
        self.callTimeoutMs = max(callTimeoutMs, 1)
        do throws(SQLiteError) {
            var options = Database.Options()
            options.create = false
            options.busyTimeoutMs = Int32(clamping: self.callTimeoutMs)
            options.exclusive = !shared
            options.lookaside = false
            options.singleThread = true
            let db = try Database(path: path, options: options)
            try db.execute("PRAGMA temp_store=MEMORY")
            try db.execute("PRAGMA cache_size=-\(Self.pageCacheKiB)")
            try db.execute("PRAGMA journal_size_limit=\(Self.walKeepBytes)")
            try db.keepWALOnClose()
            try db.setMaxSize(bytes: quotaBytes)
            // Reads the schema, which opens the WAL and its index now, before any sandbox filter applies.
            try db.execute(AppStoreFiles.schema)
            if let hostCursor, !hostCursor.epoch.isEmpty {
                try db.transaction { () throws(SQLiteError) in
                    let epoch = try db.query("SELECT value FROM syn_meta WHERE key = 'outbox_epoch'").first?.first
                    guard epoch == .blob(hostCursor.epoch) else { return }
                    // Under this epoch the node has stored every row up to its cursor: those still here are done.
                    try db.execute("DELETE FROM syn_outbox WHERE seq <= ?", [.integer(hostCursor.seq)])
                    let reached = try db.query("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'syn_outbox'), 0)").first?.first
                    if case .integer(let seq)? = reached, seq < hostCursor.seq {
                        try db.execute("UPDATE syn_meta SET value = randomblob(16) WHERE key = 'outbox_epoch'")
                    }
                }
            }
            guard case .blob(let epoch)? = try db.query("SELECT value FROM syn_meta WHERE key = 'outbox_epoch'").first?.first,
                  case .integer(let waiting)? = try db.query("SELECT EXISTS (SELECT 1 FROM syn_outbox)").first?.first
            else { throw SQLiteError(extendedCode: 1, message: "the outbox epoch is missing") }
            outboxEpoch = epoch
            outboxPending = waiting != 0
            db.applyAppPolicy()
            database = db
        } catch {
            throw StoreFailure(SynStatus.io, "cannot open the app's database: \(error.message)")
        }
    }

    // MARK: - One transaction per call

    /// How much of the call in progress's time is left, nanoseconds.
    public var timeLeftNs: Int64 { callDeadlineNs - MonotonicClock.nowNs() }
    /// How long a call may run.
    public var callTimeoutNs: Int64 { Int64(callTimeoutMs) * 1_000_000 }

    /// A call starts now: nothing is begun until it uses storage. `deadlineNs` (monotonic, above 0) may end it
    /// sooner: a call from another app ends by that app's deadline.
    public func beginCall(deadlineNs: Int64 = 0) {
        let own = MonotonicClock.nowNs() + callTimeoutNs
        callDeadlineNs = deadlineNs > 0 ? min(own, deadlineNs) : own
        lost = nil
    }

    /// Ends the call's transaction, if it had one: commits when `commit`, else rolls back. Returns why a wanted
    /// commit did not happen (nothing the call wrote is kept then).
    public func endCall(commit: Bool) -> StoreFailure? {
        defer {
            began = false
            lost = nil
        }
        guard began else { return nil }
        if let lost {
            rollback()
            return commit ? lost : nil
        }
        guard commit else {
            rollback()
            return nil
        }
        do { try database.commit() } catch {
            rollback()
            return failure(error, "commit")
        }
        outboxDeleted = max(outboxDeleted, outboxDeleting)
        return nil
    }

    private func rollback() {
        try? database.rollback()
    }

    /// The call's transaction, begun on first use. It also drops the outbox rows the host has acknowledged.
    func transaction() throws(StoreFailure) {
        if let lost { throw lost }
        guard !began else { return }
        // Another instance may hold the write lock: wait at most until shortly before the call's deadline.
        database.setBusyTimeout(milliseconds: statementLimitMs())
        do { try database.beginImmediate() } catch { throw failure(error, "begin a transaction") }
        began = true
        outboxDeleting = outboxDeleted
        if outboxAcknowledged > outboxDeleted {
            do {
                _ = try run("DELETE FROM syn_outbox WHERE seq <= ?", [.integer(outboxAcknowledged)])
                outboxDeleting = outboxAcknowledged
            } catch { throw lose(failure(error, "outbox")) }
        }
    }

    // MARK: - SQL

    /// Runs the app's statement with JSON parameters; returns the rows it changed.
    public func exec(sql: [UInt8], parameters: [UInt8]) throws(StoreFailure) -> UInt64 {
        let (text, values) = try Self.statement(sql, parameters)
        return try appSQL("sql_exec") { () throws(SQLiteError) -> UInt64 in UInt64(max(try database.execute(text, values), 0)) }
    }

    /// Runs the app's query with JSON parameters; returns its rows as JSON (at most `maxRows` rows, `maxBytes`).
    public func query(sql: [UInt8], parameters: [UInt8], maxBytes: Int = AppStore.maxValue) throws(StoreFailure) -> [UInt8] {
        let (text, values) = try Self.statement(sql, parameters)
        let rows = try appSQL("sql_query") { () throws(SQLiteError) -> [[SQLValue]] in
            try database.query(text, values, limitRows: Self.maxRows, limitBytes: maxBytes)
        }
        return SQLRows.json(rows)
    }

    private static func statement(_ sql: [UInt8], _ parameters: [UInt8]) throws(StoreFailure) -> (String, [SQLValue]) {
        guard sql.count <= maxSQL else {
            throw StoreFailure(SynStatus.tooLarge, "the SQL text is \(sql.count) bytes; at most \(maxSQL)")
        }
        guard let text = String(validating: sql, as: UTF8.self) else { throw StoreFailure(SynStatus.badArg, "SQL must be UTF-8") }
        guard parameters.count <= maxValue else {
            throw StoreFailure(SynStatus.tooLarge, "params_json is \(parameters.count) bytes; at most \(maxValue)")
        }
        return (text, try SQLParameters.parse(parameters))
    }

    /// Runs the app's own SQL inside the call's transaction, under the statement time limit.
    private func appSQL<T>(_ slot: String, _ body: () throws(SQLiteError) -> T) throws(StoreFailure) -> T {
        guard timeLeftNs > 50_000_000 else {
            throw StoreFailure(SynStatus.timeout, "\(slot): the call's time is up (its deadline, or the calling app's)")
        }
        try transaction()
        let limit = statementLimitMs()
        database.limitStatements(toMilliseconds: limit)
        defer { database.limitStatements(toMilliseconds: nil) }
        do { return try body() } catch { throw lose(failure(error, slot, limitMs: limit)) }
    }

    /// One cached statement of the store's own (the KV table) inside the call's transaction.
    func kv(_ sql: StaticString, _ parameters: [SQLValue]) throws(StoreFailure) -> [[SQLValue]] {
        try transaction()
        do { return try run(sql, parameters) } catch { throw lose(failure(error, "kv")) }
    }

    /// One of the store's own statements (trusted, cached), outside the app policy.
    func run(_ sql: StaticString, _ parameters: [SQLValue]) throws(SQLiteError) -> [[SQLValue]] {
        try database.cachedQuery(sql, parameters)
    }

    /// A failed statement may have made SQLite roll back the whole transaction (a full quota can): then the call
    /// is lost, and says so from now on instead of writing on outside any transaction.
    func lose(_ failure: StoreFailure) -> StoreFailure {
        guard began, !database.isInTransaction else { return failure }
        let lostFailure = StoreFailure(failure.status,
                                       failure.message + "; SQLite rolled back this call's transaction, so nothing it wrote is kept")
        lost = lostFailure
        return lostFailure
    }

    /// How long the next statement may run: at most `maxStatementMs`, and never past the call's deadline (less a
    /// margin to answer in time).
    private func statementLimitMs() -> Int {
        let remainingMs = timeLeftNs / 1_000_000 - 50
        return Int(max(1, min(Int64(Self.maxStatementMs), remainingMs)))
    }

    /// SQLite errors as app-facing statuses: full or past the file-size limit → quota, authorizer → denied,
    /// constraint → conflict, interrupted → timeout.
    func failure(_ error: SQLiteError, _ what: String, limitMs: Int = AppStore.maxStatementMs) -> StoreFailure {
        let quota = "\(what): the app's storage quota is full (node.toml key apps.<id>.storage_quota_mb)"
        let diskFull = "\(what): the node's disk is full (not this app's quota): its owner must free space"
        switch error.code {
        case SQLiteError.full where database.systemErrno == ENOSPC, SQLiteError.ioError where database.systemErrno == ENOSPC:
            return StoreFailure(SynStatus.io, diskFull)
        case SQLiteError.full: return StoreFailure(SynStatus.quota, quota)
        case SQLiteError.ioError where database.systemErrno == EFBIG: return StoreFailure(SynStatus.quota, quota)
        case SQLiteError.noMemory:
            return StoreFailure(SynStatus.quota, "\(what): SQLite ran out of memory (profile key limits.memory_mb)")
        case SQLiteError.auth: return StoreFailure(SynStatus.denied, "\(what): \(error.message)")
        case SQLiteError.constraint: return StoreFailure(SynStatus.conflict, "\(what): \(error.message)")
        case SQLiteError.tooBig: return StoreFailure(SynStatus.tooLarge, "\(what): \(error.message)")
        case SQLiteError.busy: return StoreFailure(SynStatus.io, "\(what): the database stayed busy with another instance of the app")
        case SQLiteError.interrupt:
            return StoreFailure(SynStatus.timeout, "\(what): the statement ran longer than \(limitMs) ms and was stopped")
        case SQLiteError.error, SQLiteError.range, SQLiteError.misuse:
            return StoreFailure(SynStatus.badArg, "\(what): \(error.message)")
        default: return StoreFailure(SynStatus.io, "\(what): \(error.message)")
        }
    }

}

@available(*, unavailable)
extension AppStore: Sendable {}
