import Synchronization

/// A connection to a database that is opened on first use and kept: for stores a node may never touch (its peers,
/// the witness heads), so a node on its own does not pay a connection's memory for them. `setUp` (a schema, a
/// first read) runs at once, on a connection closed again afterwards.
public final class LazyDatabase: Sendable {
    private let path: String
    private let connection = Mutex<Connection?>(nil)

    /// The open connection; only ever used under `connection`'s lock.
    private final class Connection: @unchecked Sendable {
        let db: Database
        init(_ db: Database) { self.db = db }
    }

    public init(path: String, setUp: (Database) throws(SQLiteError) -> Void) throws(SQLiteError) {
        self.path = path
        let db = try Database(path: path)
        defer { db.close() }
        try setUp(db)
    }

    /// Runs `body` on the connection (opening it first if it is not open), under its lock.
    public func withDatabase<R>(_ body: (Database) throws(SQLiteError) -> R) throws(SQLiteError) -> R {
        let result: Result<R, SQLiteError> = connection.withLock { open in
            do throws(SQLiteError) {
                let current: Connection
                if let existing = open { current = existing } else {
                    current = Connection(try Database(path: path))
                    open = current
                }
                return .success(try body(current.db))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    public func close() {
        connection.withLock { open in
            open?.db.close()
            open = nil
        }
    }
}
