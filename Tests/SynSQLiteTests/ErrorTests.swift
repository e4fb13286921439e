import SynSQLite
import SynTestSupport
import Testing

/// SQLite failures become SQLiteError values with the right code, SQLite's message and the SQL.
@Suite struct ErrorTests {
    func uniqueTable() throws -> (TempDir, Database) {
        let dir = TempDir()
        let db = try Database(path: dir.file("e.db"))
        try db.execute("CREATE TABLE t(x UNIQUE NOT NULL)")
        try db.execute("INSERT INTO t VALUES (?)", [.integer(1)])
        return (dir, db)
    }

    @Test func uniqueViolationIsConstraint() throws {
        let (_, db) = try uniqueTable()
        let sql = "INSERT INTO t VALUES (?)"
        let error = sqliteError { () throws(SQLiteError) in try db.execute(sql, [.integer(1)]) }
        #expect(error?.code == 19)
        #expect(error?.code == SQLiteError.constraint)
        #expect(error?.extendedCode == 2067)  // SQLITE_CONSTRAINT_UNIQUE
        #expect(error?.message == "UNIQUE constraint failed: t.x")
        #expect(error?.sql == sql)
        #expect(error?.description == "SQLite error 19 (extended 2067): UNIQUE constraint failed: t.x"
            + " - while executing `INSERT INTO t VALUES (?)`")
    }

    @Test func notNullViolationIsConstraint() throws {
        let (_, db) = try uniqueTable()
        let error = sqliteError { () throws(SQLiteError) in try db.execute("INSERT INTO t VALUES (?)", [.null]) }
        #expect(error?.code == SQLiteError.constraint)
        #expect(error?.extendedCode == 1299)  // SQLITE_CONSTRAINT_NOTNULL
        #expect(error?.message == "NOT NULL constraint failed: t.x")
    }

    @Test func catchMatchesByCode() throws {
        let (_, db) = try uniqueTable()
        var matched = ""
        do {
            try db.execute("INSERT INTO t VALUES (1)", [])
        } catch SQLiteError.full {
            matched = "full"
        } catch SQLiteError.constraint {
            matched = "constraint"
        } catch {
            matched = "other"
        }
        #expect(matched == "constraint")
    }

    @Test func switchMatchesByCode() {
        let error = SQLiteError(extendedCode: 13, message: "database or disk is full")
        switch error {
        case SQLiteError.constraint: Issue.record("matched constraint")
        case SQLiteError.full: break
        default: Issue.record("matched nothing")
        }
        #expect(!(SQLiteError.busy ~= error))
        #expect(SQLiteError.full ~= error)
    }

    @Test func codeIsTheLowByteOfTheExtendedCode() {
        let error = SQLiteError(extendedCode: 2067, message: "m", sql: nil)
        #expect(error.code == 19)
        #expect(error.description == "SQLite error 19 (extended 2067): m")
        #expect(SQLiteError(extendedCode: 13, message: "m").description == "SQLite error 13: m")
    }

    @Test func tooFewArgumentsIsARangeError() throws {
        let (_, db) = try uniqueTable()
        let error = sqliteError { () throws(SQLiteError) in try db.execute("INSERT INTO t VALUES (?)", []) }
        #expect(error?.code == SQLiteError.range)
        #expect(error?.message == "statement has 1 parameter(s) but 0 argument(s) were given")
        #expect(try db.query("SELECT count(*) FROM t") == [[.integer(1)]])
    }

    @Test func tooManyArgumentsIsARangeError() throws {
        let (_, db) = try uniqueTable()
        let error = sqliteError { () throws(SQLiteError) in
            try db.query("SELECT x FROM t WHERE x = ?", [.integer(1), .integer(2)])
        }
        #expect(error?.code == SQLiteError.range)
        #expect(error?.message == "statement has 1 parameter(s) but 2 argument(s) were given")
    }

    @Test func executeWithoutArgumentsRefusesParameters() throws {
        let (_, db) = try uniqueTable()
        let error = sqliteError { () throws(SQLiteError) in try db.execute("INSERT INTO t VALUES (2); INSERT INTO t VALUES (?)") }
        #expect(error?.code == SQLiteError.range)
        #expect(error?.message.contains("1 parameter(s)") == true)
        // The first statement ran: execute(_:) runs statements in order, like sqlite3_exec.
        #expect(try db.query("SELECT x FROM t ORDER BY x") == [[.integer(1)], [.integer(2)]])
    }

    @Test func syntaxErrorIsGenericError() throws {
        let (_, db) = try uniqueTable()
        let error = sqliteError { () throws(SQLiteError) in try db.query("SELEKT 1") }
        #expect(error?.code == SQLiteError.error)
        #expect(error?.message.contains("syntax error") == true)
        #expect(error?.sql == "SELEKT 1")
    }

    @Test func prepareTakesOneStatement() throws {
        let (_, db) = try uniqueTable()
        let error = sqliteError { () throws(SQLiteError) in try db.prepare("SELECT 1; SELECT 2") }
        #expect(error?.code == SQLiteError.misuse)
        #expect(error?.message.contains("more than one statement") == true)
        // Trailing semicolons and comments are not a second statement.
        #expect(try db.query("SELECT 1; -- one\n ; /* done */") == [[.integer(1)]])
        #expect(sqliteError { () throws(SQLiteError) in try db.prepare(" -- nothing") }?.code == SQLiteError.misuse)
    }

    @Test func nulInSQLIsRefused() throws {
        let (_, db) = try uniqueTable()
        let error = sqliteError { () throws(SQLiteError) in try db.execute("DELETE FROM t\u{0}; DROP TABLE t") }
        #expect(error?.code == SQLiteError.misuse)
        #expect(try db.query("SELECT count(*) FROM t") == [[.integer(1)]])
    }

    @Test func busyWhenAnotherConnectionHoldsTheWriteLock() throws {
        let dir = TempDir()
        var options = Database.Options()
        options.busyTimeoutMs = 0
        let first = try Database(path: dir.file("b.db"), options: options)
        let second = try Database(path: dir.file("b.db"), options: options)
        try first.execute("CREATE TABLE t(x)")
        try first.beginImmediate()
        let error = sqliteError { () throws(SQLiteError) in try second.beginImmediate() }
        #expect(error?.code == SQLiteError.busy)
        try first.commit()
        try second.beginImmediate()
        try second.commit()
    }
}
