import SynSQLite
import SynTestSupport
import Testing

/// The app-database authorizer: every refused statement is refused at prepare with SQLITE_AUTH and a reason, and
/// ordinary SQL still works.
@Suite struct AppPolicyTests {
    static let refused: [(sql: String, reason: String)] = [
        ("ATTACH 'x.db' AS x", "ATTACH is not allowed in app databases"),
        ("ATTACH DATABASE ':memory:' AS m", "ATTACH is not allowed in app databases"),
        ("DETACH x", "DETACH is not allowed in app databases"),
        ("SELECT load_extension('x')", "load_extension() is not allowed in app databases"),
        ("SELECT LOAD_EXTENSION('x', 'entry')", "load_extension() is not allowed in app databases"),
        ("VACUUM INTO '/tmp/synsqlite-vacuum-into.db'", "VACUUM INTO is not allowed in app databases"),
        ("  /* c */ vacuum main INTO '/tmp/synsqlite-vacuum-into.db'", "VACUUM INTO is not allowed in app databases"),
        ("VACUUM", "VACUUM is not allowed in app databases; the host compacts them with Database.vacuum()"),
        ("PRAGMA journal_mode=DELETE", "PRAGMA journal_mode is not allowed in app databases"),
        ("PRAGMA journal_mode", "PRAGMA journal_mode is not allowed in app databases"),
        ("PRAGMA writable_schema=ON", "PRAGMA writable_schema is not allowed in app databases"),
        ("PRAGMA cache_size", "PRAGMA cache_size is not allowed in app databases"),
        ("PRAGMA main.cache_size = 10", "PRAGMA cache_size is not allowed in app databases"),
        ("PRAGMA synchronous=OFF", "PRAGMA synchronous is not allowed in app databases"),
        ("PRAGMA foreign_keys=OFF", "PRAGMA foreign_keys is not allowed in app databases"),
        ("PRAGMA trusted_schema=ON", "PRAGMA trusted_schema is not allowed in app databases"),
        ("PRAGMA compile_options", "PRAGMA compile_options is not allowed in app databases"),
        ("PRAGMA wal_checkpoint(TRUNCATE)", "PRAGMA wal_checkpoint is not allowed in app databases"),
        ("PRAGMA max_page_count = 1000000", "setting PRAGMA max_page_count is not allowed in app databases"),
        ("PRAGMA page_size = 512", "setting PRAGMA page_size is not allowed in app databases"),
        ("PRAGMA application_id = 7", "setting PRAGMA application_id is not allowed in app databases"),
        ("Pragma Cache_Size", "PRAGMA cache_size is not allowed in app databases"),
    ]

    @Test(arguments: refused)
    func refusedAtPrepare(_ statement: (sql: String, reason: String)) throws {
        let (dir, db) = try appDatabase()
        let error = sqliteError { () throws(SQLiteError) in try db.prepare(statement.sql) }
        #expect(error?.code == 23)
        #expect(error?.code == SQLiteError.auth)
        #expect(error?.message == "not authorized: \(statement.reason)")
        #expect(error?.sql == statement.sql)
        // The same through execute(_:), inside a batch, and the connection stays usable.
        let batch = sqliteError { () throws(SQLiteError) in try db.execute("SELECT 1; \(statement.sql)") }
        #expect(batch?.code == SQLiteError.auth)
        #expect(dir.entries().sorted() == ["app.db", "app.db-shm", "app.db-wal"])
        #expect(try db.execute("INSERT INTO t(x) VALUES (?)", [.text("still fine")]) == 1)
    }

    @Test func vacuumIntoWritesNoFile() throws {
        let (dir, db) = try appDatabase()
        let target = dir.file("copy.db")
        let error = sqliteError { () throws(SQLiteError) in try db.execute("VACUUM INTO '\(target)'") }
        #expect(error?.code == SQLiteError.auth)
        #expect(!dir.exists("copy.db"))
    }

    @Test func pragmaFunctionsAreRefusedWhenRun() throws {
        let (_, db) = try appDatabase()
        let error = sqliteError { () throws(SQLiteError) in try db.query("SELECT * FROM pragma_cache_size") }
        #expect(error?.code == SQLiteError.auth)
        #expect(error?.message == "not authorized: PRAGMA cache_size is not allowed in app databases")
        #expect(try db.query("SELECT name FROM pragma_table_info('t') ORDER BY cid") == [[.text("id")], [.text("x")]])
    }

    @Test func ordinarySQLWorks() throws {
        let (dir, db) = try appDatabase()
        try db.execute("""
            CREATE TABLE u(id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t(id), y BLOB);
            CREATE INDEX u_t ON u(t_id);
            CREATE VIEW v AS SELECT x FROM t;
            CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u(t_id) VALUES (new.id); END;
            """)
        try db.execute("INSERT INTO t(x) VALUES (?)", [.text("a")])
        #expect(try db.query("SELECT x FROM v") == [[.text("a")]])
        #expect(try db.query("SELECT t_id FROM u") == [[.integer(1)]])
        try db.transaction { () throws(SQLiteError) in
            try db.savepoint("s")
            try db.execute("UPDATE t SET x = 'b'", [])
            try db.releaseSavepoint("s")
        }
        try db.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT i FROM n")
        try db.execute("DROP INDEX u_t; DROP TRIGGER tr; DROP VIEW v; ALTER TABLE u ADD COLUMN z")
        #expect(dir.exists("app.db"))
    }

    @Test func safePragmasWork() throws {
        let (_, db) = try appDatabase()
        try db.execute("CREATE INDEX t_x ON t(x)")
        try db.execute("PRAGMA user_version = 3")
        #expect(try scalar(db, "PRAGMA user_version") == .integer(3))
        #expect(try db.query("PRAGMA table_info(t)").map { $0[1] } == [.text("id"), .text("x")])
        #expect(try db.query("PRAGMA table_xinfo(t)").count == 2)
        #expect(try db.query("PRAGMA index_list(t)").map { $0[1] } == [.text("t_x")])
        #expect(try db.query("PRAGMA index_info(t_x)").map { $0[2] } == [.text("x")])
        #expect(try db.query("PRAGMA index_xinfo(t_x)").count == 2)
        #expect(try db.query("PRAGMA foreign_key_list(t)") == [])
        #expect(try db.query("PRAGMA foreign_key_check") == [])
        #expect(try scalar(db, "PRAGMA integrity_check") == .text("ok"))
        #expect(try scalar(db, "PRAGMA quick_check") == .text("ok"))
        #expect(try scalar(db, "PRAGMA application_id") == .integer(0))
        #expect(try scalar(db, "PRAGMA page_size") == .integer(4096))
        #expect(try scalar(db, "PRAGMA main.page_count") != nil)
        #expect(try scalar(db, "PRAGMA freelist_count") == .integer(0))
        #expect(try scalar(db, "PRAGMA max_page_count") != nil)
    }

    @Test func theHostIsNotRestricted() throws {
        let (_, db) = try appDatabase()
        #expect(db.hasAppPolicy)
        try db.setMaxSize(bytes: 1 << 20)
        #expect(try db.maxSize() == 1 << 20)
        #expect(db.sizeBytes > 0)
        try db.checkpoint()
        try db.execute("INSERT INTO t(x) VALUES (?)", [.text("kept")])
        try db.vacuum()
        #expect(try db.query("SELECT x FROM t") == [[.text("kept")]])
        // And the host's trust ends with its call.
        #expect(sqliteError { () throws(SQLiteError) in try db.execute("PRAGMA max_page_count = 5") }?.code == SQLiteError.auth)
        #expect(sqliteError { () throws(SQLiteError) in try db.execute("VACUUM") }?.code == SQLiteError.auth)
    }

    @Test func withoutThePolicyPragmasAreAllowed() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("node.db"))
        #expect(!db.hasAppPolicy)
        #expect(try scalar(db, "PRAGMA journal_mode") == .text("wal"))
        try db.execute("PRAGMA cache_size = 100")
        #expect(try scalar(db, "PRAGMA cache_size") == .integer(100))
    }
}
