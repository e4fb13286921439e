import SynSQLite
import SynTestSupport
import Testing

/// What every connection refuses whatever SQL it is given, and how a file from elsewhere is opened.
@Suite struct HardeningTests {
    @Test func theTwoArgumentFTS3TokenizerIsOff() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("a.db"))
        // The one-argument form only reads; the two-argument form would install a function pointer.
        let error = sqliteError { () throws(SQLiteError) in
            _ = try db.query("SELECT fts3_tokenizer('evil', x'4141414141414141')")
        }
        #expect(error != nil && error?.message.contains("fts3tokenize disabled") == true, "\(String(describing: error))")
    }

    @Test func aStringOrBlobPastTheLengthLimitIsTooBig() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("a.db"))
        let error = sqliteError { () throws(SQLiteError) in
            _ = try db.query("SELECT length(zeroblob(900000000) || x'00')")
        }
        #expect(error?.code == SQLiteError.tooBig, "\(String(describing: error))")
        #expect(try db.query("SELECT length(zeroblob(1000000))") == [[.integer(1_000_000)]])
    }

    @Test func anUntrustedFileIsReadOnlyChecksCellsAndIsNotMapped() throws {
        let dir = TempDir()
        try Database(path: dir.file("app.db")).execute("CREATE TABLE t(x); INSERT INTO t VALUES (1)")
        var options = Database.Options()
        options.readOnly = true
        options.untrusted = true
        let db = try Database(path: dir.file("app.db"), options: options)
        #expect(try db.query("PRAGMA cell_size_check") == [[.integer(1)]])
        #expect(try db.query("PRAGMA mmap_size") == [[.integer(0)]])
        #expect(try db.query("PRAGMA query_only") == [[.integer(1)]])
        #expect(try db.query("PRAGMA quick_check") == [[.text("ok")]])
        #expect(sqliteError { () throws(SQLiteError) in try db.execute("INSERT INTO t VALUES (2)") } != nil)
    }

    @Test func transactionControlIsRefusedInAppSQLButNotToTheHost() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("a.db"))
        db.applyAppPolicy()
        try db.beginImmediate()
        try db.execute("CREATE TABLE t(x)")
        for sql in ["COMMIT", "END", "ROLLBACK", "BEGIN"] {
            let error = sqliteError { () throws(SQLiteError) in try db.execute(sql) }
            #expect(error?.code == SQLiteError.auth && error?.message.contains("each call is one transaction") == true, "\(sql)")
        }
        try db.execute("SAVEPOINT s; INSERT INTO t VALUES (1); ROLLBACK TO s; RELEASE s")
        try db.commit()
        #expect(try db.query("SELECT count(*) FROM t") == [[.integer(0)]])
    }

    @Test func theNodesOutboxTablesAreOutOfReachOfAppSQL() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("a.db"))
        try db.execute("CREATE TABLE syn_outbox(x); CREATE TABLE syn_meta(k, v)")
        db.applyAppPolicy()
        for sql in ["SELECT * FROM syn_outbox", "INSERT INTO syn_outbox VALUES (1)", "DELETE FROM syn_meta",
                    "DROP TABLE syn_outbox", "CREATE TRIGGER t AFTER INSERT ON syn_meta BEGIN SELECT 1; END"] {
            let error = sqliteError { () throws(SQLiteError) in try db.execute(sql) }
            #expect(error?.code == SQLiteError.auth, "\(sql)")
        }
        #expect(try db.asHost { () throws(SQLiteError) -> [[SQLValue]] in try db.query("SELECT count(*) FROM syn_outbox") } == [[.integer(0)]])
    }

    /// An immutable open reads exactly the file named, whatever characters the path holds.
    @Test func anImmutableOpenReadsTheNamedFile() throws {
        let dir = TempDir()
        let path = dir.file("odd ?name#%20.db")
        try Database(path: path).execute("CREATE TABLE t(x); INSERT INTO t VALUES (42)")
        var options = Database.Options()
        options.immutable = true
        options.untrusted = true
        for name in [path, "/" + path] {
            let db = try Database(path: name, options: options)
            #expect(try db.query("SELECT x FROM t") == [[.integer(42)]], "\(name)")
        }
    }
}
