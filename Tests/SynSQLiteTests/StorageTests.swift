import SynSQLite
import SynTestSupport
import Testing

/// The storage quota, size and checkpoint, against real files.
@Suite struct StorageTests {
    @Test func quotaStopsWritesWithFullAndKeepsTheDatabaseIntact() throws {
        let dir = TempDir()
        let path = dir.file("q.db")
        let db = try Database(path: path)
        db.applyAppPolicy()
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, payload BLOB)")
        let payload = SQLValue.blob(Array(repeating: 0x5A, count: 1000))
        for _ in 0..<5 { try db.execute("INSERT INTO t(payload) VALUES (?)", [payload]) }
        let limit = try db.setMaxSize(bytes: 64 * 1024 + 100)
        #expect(limit == 64 * 1024)  // rounded down to whole 4096-byte pages
        #expect(try db.maxSize() == 64 * 1024)

        var inserted = 5
        var failure: SQLiteError?
        while failure == nil, inserted < 10_000 {
            do {
                try db.execute("INSERT INTO t(payload) VALUES (?)", [payload])
                inserted += 1
            } catch {
                failure = error
            }
        }
        #expect(failure?.code == 13)
        #expect(failure?.code == SQLiteError.full)
        #expect(failure?.message == "database or disk is full")
        #expect(inserted > 5)
        #expect(db.sizeBytes <= 64 * 1024)
        #expect(try scalar(db, "PRAGMA integrity_check") == .text("ok"))
        // Reads and deletes still work at the quota.
        #expect(try scalar(db, "SELECT count(*) FROM t") == .integer(Int64(inserted)))
        db.close()

        let reopened = try Database(path: path)
        #expect(try scalar(reopened, "PRAGMA integrity_check") == .text("ok"))
        let rows = try reopened.query("SELECT id, payload FROM t ORDER BY id")
        #expect(rows.count == inserted)
        #expect(rows.enumerated().allSatisfy { index, row in row == [.integer(Int64(index + 1)), payload] })
    }

    @Test func quotaFailureInsideATransactionKeepsEarlierCommits() throws {
        let dir = TempDir()
        let path = dir.file("q.db")
        let db = try Database(path: path)
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, payload BLOB)")
        try db.execute("INSERT INTO t(payload) VALUES (?)", [.text("committed")])
        try db.setMaxSize(bytes: 32 * 1024)
        let error = sqliteError { () throws(SQLiteError) in
            try db.transaction { () throws(SQLiteError) in
                for _ in 0..<1000 { try db.execute("INSERT INTO t(payload) VALUES (zeroblob(2000))", []) }
            }
        }
        #expect(error?.code == SQLiteError.full)
        #expect(!db.isInTransaction)
        db.close()
        let reopened = try Database(path: path)
        #expect(try reopened.query("SELECT payload FROM t") == [[.text("committed")]])
        #expect(try scalar(reopened, "PRAGMA integrity_check") == .text("ok"))
    }

    @Test func quotaIsNotLoweredBelowCurrentUsage() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("q.db"))
        try db.execute("CREATE TABLE t(x); CREATE TABLE u(x); CREATE TABLE v(x)")
        let used = db.sizeBytes
        #expect(used == 4 * 4096)
        #expect(try db.setMaxSize(bytes: 0) == used)
        #expect(try db.maxSize() == used)
        #expect(try scalar(db, "SELECT count(*) FROM t") == .integer(0))
        let error = sqliteError { () throws(SQLiteError) in try db.execute("CREATE TABLE w(x)") }
        #expect(error?.code == SQLiteError.full)
        #expect(sqliteError { () throws(SQLiteError) in try db.setMaxSize(bytes: -1) }?.code == SQLiteError.range)
    }

    @Test func quotaBelongsToTheConnection() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("q.db"))
        try db.setMaxSize(bytes: 8192)
        db.close()
        let reopened = try Database(path: dir.file("q.db"))
        #expect(try reopened.maxSize() > 8192)
    }

    @Test func sizeGrowsWithData() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("s.db"))
        try db.execute("CREATE TABLE t(x)")
        let before = db.sizeBytes
        try db.execute("INSERT INTO t VALUES (zeroblob(100000))", [])
        #expect(db.sizeBytes >= before + 90_000)  // most of the blob is on overflow pages
        #expect(db.sizeBytes % 4096 == 0)
    }

    @Test func checkpointTruncatesTheWAL() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("c.db"))
        try db.execute("CREATE TABLE t(x)")
        try db.execute("INSERT INTO t VALUES (zeroblob(50000))", [])
        #expect(dir.size("c.db-wal") > 50_000)
        try db.checkpoint()
        #expect(dir.size("c.db-wal") == 0)
        #expect(dir.size("c.db") > 50_000)
        db.close()
        #expect(try scalar(Database(path: dir.file("c.db")), "SELECT length(x) FROM t") == .integer(50000))
    }

    @Test func vacuumReclaimsFreePages() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("v.db"))
        try db.execute("CREATE TABLE t(x)")
        try db.execute("INSERT INTO t VALUES (zeroblob(200000))", [])
        try db.execute("DELETE FROM t", [])
        let before = db.sizeBytes
        #expect(try scalar(db, "PRAGMA freelist_count") != .integer(0))
        // Plain VACUUM needs an attached database, which the connection's attach limit of 0 forbids.
        let plain = sqliteError { () throws(SQLiteError) in try db.execute("VACUUM") }
        #expect(plain?.message.contains("too many attached databases") == true)
        try db.vacuum()
        #expect(db.sizeBytes < before)
        #expect(try scalar(db, "PRAGMA freelist_count") == .integer(0))
        // The attach limit is back to zero afterwards.
        let error = sqliteError { () throws(SQLiteError) in try db.execute("ATTACH ':memory:' AS m") }
        #expect(error?.message.contains("too many attached databases") == true)
    }
}
