import CSynSQLite

extension Database {
    /// Starts a transaction that takes the write lock at once (`BEGIN IMMEDIATE`). Transaction control is the
    /// host's: the app policy, which refuses it in app SQL, does not apply here.
    public func beginImmediate() throws(SQLiteError) {
        try cachedExecute("BEGIN IMMEDIATE")
    }

    /// Commits the open transaction.
    public func commit() throws(SQLiteError) {
        try cachedExecute("COMMIT")
    }

    /// Rolls back the open transaction; does nothing when none is open (SQLite may already have rolled it back,
    /// e.g. after `SQLiteError.full`).
    public func rollback() throws(SQLiteError) {
        guard isInTransaction else { return }
        try cachedExecute("ROLLBACK")
    }

    /// Runs `body` in an immediate transaction: commits if it returns, rolls back if it (or the commit) throws.
    @discardableResult
    public func transaction<T>(_ body: () throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        try beginImmediate()
        do {
            let result = try body()
            try commit()
            return result
        } catch {
            try? rollback()
            throw error
        }
    }

    /// Starts a savepoint; `name` is letters, digits and `_`.
    public func savepoint(_ name: String) throws(SQLiteError) {
        try execute("SAVEPOINT \(Database.savepointName(name))")
    }

    /// Releases (commits into the enclosing transaction) the savepoint `name` and those after it.
    public func releaseSavepoint(_ name: String) throws(SQLiteError) {
        try execute("RELEASE SAVEPOINT \(Database.savepointName(name))")
    }

    /// Undoes the changes since savepoint `name`, which stays open.
    public func rollbackToSavepoint(_ name: String) throws(SQLiteError) {
        try execute("ROLLBACK TO SAVEPOINT \(Database.savepointName(name))")
    }

    /// `name` quoted, after checking it is `[A-Za-z0-9_]+`.
    private static func savepointName(_ name: String) throws(SQLiteError) -> String {
        let valid = !name.isEmpty && name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
        }
        guard valid else {
            throw SQLiteError(extendedCode: SQLITE_MISUSE,
                              message: "invalid savepoint name \"\(name)\": use letters, digits and _")
        }
        return "\"\(name)\""
    }
}
