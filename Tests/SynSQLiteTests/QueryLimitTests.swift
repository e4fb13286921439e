import SynSQLite
import SynTestSupport
import Testing

/// query(_:_:limitRows:limitBytes:) stops at its limits with SQLITE_TOOBIG.
@Suite struct QueryLimitTests {
    func numbers(_ count: Int) throws -> (TempDir, Database) {
        let dir = TempDir()
        let db = try Database(path: dir.file("l.db"))
        try db.execute("CREATE TABLE t(n INTEGER, s TEXT)")
        let insert = try db.prepare("INSERT INTO t VALUES (?, ?)")
        for n in 0..<count {
            try insert.bind([.integer(Int64(n)), .text("0123456789")])
            _ = try insert.step()
        }
        return (dir, db)
    }

    @Test func rowLimitIsInclusive() throws {
        let (_, db) = try numbers(10)
        let rows = try db.query("SELECT n FROM t ORDER BY n", [], limitRows: 10, limitBytes: 1 << 20)
        #expect(rows.count == 10)
        let error = sqliteError { () throws(SQLiteError) in
            try db.query("SELECT n FROM t ORDER BY n", [], limitRows: 9, limitBytes: 1 << 20)
        }
        #expect(error?.code == 18)
        #expect(error?.code == SQLiteError.tooBig)
        #expect(error?.message == "query returned more than 9 row(s)")
        #expect(sqliteError { () throws(SQLiteError) in
            try db.query("SELECT n FROM t", [], limitRows: 0, limitBytes: 1 << 20)
        }?.code == SQLiteError.tooBig)
        #expect(try db.query("SELECT n FROM t WHERE n < 0", [], limitRows: 0, limitBytes: 0) == [])
    }

    @Test func byteLimitIsInclusive() throws {
        let (_, db) = try numbers(10)
        // Each row is 8 (integer) + 10 (text) = 18 bytes.
        let rows = try db.query("SELECT n, s FROM t WHERE n < ?", [.integer(5)], limitRows: 100, limitBytes: 90)
        #expect(rows.count == 5)
        let error = sqliteError { () throws(SQLiteError) in
            try db.query("SELECT n, s FROM t WHERE n < ?", [.integer(5)], limitRows: 100, limitBytes: 89)
        }
        #expect(error?.code == SQLiteError.tooBig)
        #expect(error?.message == "query returned more than 89 byte(s)")
    }

    @Test func hugeValueIsRefusedWithoutBeingCopied() throws {
        let (_, db) = try numbers(0)
        let error = sqliteError { () throws(SQLiteError) in
            try db.query("SELECT zeroblob(100000000)", [], limitRows: 10, limitBytes: 1000)
        }
        #expect(error?.code == SQLiteError.tooBig)
    }

    @Test func negativeLimitsAreRefused() throws {
        let (_, db) = try numbers(1)
        #expect(sqliteError { () throws(SQLiteError) in
            try db.query("SELECT 1", [], limitRows: -1, limitBytes: 10)
        }?.code == SQLiteError.range)
    }

    @Test func limitedQueryLeavesNoReadTransactionOpen() throws {
        let (dir, db) = try numbers(10)
        _ = sqliteError { () throws(SQLiteError) in try db.query("SELECT n FROM t", [], limitRows: 1, limitBytes: 100) }
        #expect(!db.isInTransaction)
        // A checkpoint can only truncate the WAL if no statement still reads from it.
        try db.checkpoint()
        #expect(dir.size("l.db-wal") == 0)
    }
}
