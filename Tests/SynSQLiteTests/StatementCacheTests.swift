import SynSQLite
import SynTestSupport
import Testing

/// Compiled statements kept for reuse: by literal for the host's own SQL, by text for run-time SQL (an app's).
/// Reuse must never let an app run what the policy refuses, nor outlive a schema change.
@Suite struct StatementCacheTests {
    @Test func aStatementTheHostCompiledIsNotReusedForTheApp() throws {
        let (_, db) = try appDatabase()
        // The host runs texts as itself (allowed), then the app sends the same texts: refused, every time.
        try db.asHost { () throws(SQLiteError) in
            try db.execute("BEGIN IMMEDIATE", [])
            _ = try db.query("PRAGMA cache_size")
            try db.execute("COMMIT", [])
        }
        for _ in 0..<3 {
            #expect(sqliteError { () throws(SQLiteError) in try db.execute("BEGIN IMMEDIATE", []) }?.code == SQLiteError.auth)
            #expect(sqliteError { () throws(SQLiteError) in try db.query("PRAGMA cache_size") }?.code == SQLiteError.auth)
        }
        #expect(!db.isInTransaction)
    }

    @Test func statementsCompiledBeforeThePolicyAreDropped() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("app.db"))
        try db.execute("BEGIN IMMEDIATE", []) // allowed without a policy, and kept
        try db.execute("COMMIT", [])
        db.applyAppPolicy()
        #expect(sqliteError { () throws(SQLiteError) in try db.execute("BEGIN IMMEDIATE", []) }?.code == SQLiteError.auth)
        #expect(!db.isInTransaction)
    }

    @Test func reusedStatementsFollowSchemaChanges() throws {
        let (_, db) = try appDatabase()
        try db.execute("INSERT INTO t(x) VALUES (?)", [.text("a")])
        #expect(try db.query("SELECT * FROM t WHERE id = ?", [.integer(1)]) == [[.integer(1), .text("a")]])
        try db.execute("ALTER TABLE t ADD COLUMN y INTEGER DEFAULT 7")
        #expect(try db.query("SELECT * FROM t WHERE id = ?", [.integer(1)]) == [[.integer(1), .text("a"), .integer(7)]])
        // A table dropped while its statements are kept: the reused statement fails, it does not read stale data.
        try db.execute("DROP TABLE t")
        #expect(sqliteError { () throws(SQLiteError) in try db.query("SELECT * FROM t WHERE id = ?", [.integer(1)]) } != nil)
        // An authorizer decision made at the first compile is made again at the recompile.
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, x TEXT)")
        #expect(try db.query("SELECT * FROM t WHERE id = ?", [.integer(1)]) == [])
    }

    @Test func manyDistinctStatementsStayCorrect() throws {
        // Far more texts than are kept: each still runs with its own arguments, and earlier ones compile again.
        // The statements kept stay within their heap budget, however large the texts.
        let (_, db) = try appDatabase()
        for round in 0..<2 {
            for i in 0..<200 {
                let rows = try db.query("SELECT ? + \(i)", [.integer(Int64(round))])
                #expect(rows == [[.integer(Int64(round + i))]])
                let wide = (0..<60).map { "x + \($0 + i)" }.joined(separator: ", ")
                _ = try db.query("SELECT \(wide) FROM (SELECT 1 AS x)")
                #expect(db.reusableBytes <= 128 * 1024)
            }
        }
        #expect(db.reusableBytes > 0)
    }

    @Test func aStatementLeftMidwayHoldsNoLock() throws {
        // A query that fails part-way (too many rows) is reset: the kept statement does not keep a read open.
        let dir = TempDir()
        let db = try Database(path: dir.file("app.db"))
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY)")
        for i in 0..<10 { try db.execute("INSERT INTO t(id) VALUES (?)", [.integer(Int64(i))]) }
        #expect(sqliteError { () throws(SQLiteError) in try db.query("SELECT id FROM t", [], limitRows: 2, limitBytes: 1000) }?.code == SQLiteError.tooBig)
        try db.execute("DROP TABLE t") // would fail with "database table is locked" if the read were still open
        #expect(try db.query("SELECT count(*) FROM sqlite_schema") == [[.integer(0)]])
    }

    @Test func hostLiteralsRunAsTheHost() throws {
        let (_, db) = try appDatabase()
        try db.cachedExecute("INSERT INTO t(x) VALUES (?)", [.text("host")])
        #expect(try db.cachedQuery("PRAGMA cache_size").count == 1)
        #expect(try db.cachedQuery("SELECT x FROM t WHERE x = ?", [.text("host")]) == [[.text("host")]])
        db.close()
        #expect(sqliteError { () throws(SQLiteError) in try db.cachedQuery("SELECT x FROM t WHERE x = ?", [.text("host")]) } != nil)
    }
}
