import CSynSQLite

extension Database {
    /// How to open a database.
    public struct Options: Sendable {
        /// Open read-only; the journal mode is then left as the file has it.
        public var readOnly = false
        /// Create the file if it does not exist (ignored when `readOnly`).
        public var create = true
        /// How long to wait for another connection's lock before failing with `SQLiteError.busy`.
        public var busyTimeoutMs: Int32 = 5000
        /// Lock the file exclusively for the connection's life (`locking_mode=EXCLUSIVE`, set before WAL is entered,
        /// so the WAL index lives in the heap): no other connection or process can open it meanwhile.
        public var exclusive = false
        /// The file comes from somewhere the host does not trust (an app's database read by the host): open it
        /// with `cell_size_check`, no memory mapping and `query_only`, as SQLite advises for such files.
        public var untrusted = false
        /// Read the main file only, as if nothing else could change it: no locks, no WAL and no shared-memory index
        /// (`immutable=1`), so another process writing them cannot feed this one. Implies `readOnly`.
        public var immutable = false
        /// The connection is only ever used by one thread at a time (as `Database` requires): SQLite skips its own
        /// per-call mutex (`SQLITE_OPEN_NOMUTEX`).
        public var singleThread = false
        /// Give the connection SQLite's lookaside allocator (about 150 KiB set aside for small allocations). A
        /// sandboxed worker with a small memory budget turns it off.
        public var lookaside = true
        /// Keep the rollback journal in memory (`journal_mode=MEMORY`) instead of WAL: for a file written once from
        /// start to end (a backup's copy), where a crash leaves a file that is thrown away, and no `-wal` or
        /// `-journal` file may exist.
        public var noJournal = false
        /// Size limits applied to every statement on the connection.
        public var limits = Limits()

        public init() {}
    }

    /// `sqlite3_limit` values; the defaults bound what one statement can make SQLite allocate.
    public struct Limits: Sendable {
        /// The largest string or blob, bytes (SQLite's default is 1 GB).
        public var length: Int32 = 16 << 20
        /// The longest SQL text, bytes.
        public var sqlLength: Int32 = 1 << 20
        public var exprDepth: Int32 = 1000
        public var compoundSelect: Int32 = 500
        public var triggerDepth: Int32 = 100
        public var likePatternLength: Int32 = 50_000

        public init() {}
    }
}

extension Database {
    /// Caps the memory SQLite may allocate in this whole process, for a process that reads files it does not trust
    /// (a CLI command; never the node, whose databases are its own). The corresponding C function is
    /// `sqlite3_hard_heap_limit64`.
    public static func limitHeap(bytes: Int64) {
        _ = sqlite3_hard_heap_limit64(bytes)
    }
}
