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

        public init() {}
    }
}
