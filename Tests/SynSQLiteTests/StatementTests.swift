import SynSQLite
import SynTestSupport
import Testing

/// Prepared statements: bind, step, read, reset and reuse.
@Suite struct StatementTests {
    @Test func stepsThroughRows() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("s.db"))
        try db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)")
        for name in ["a", "b", "c"] { try db.execute("INSERT INTO t(name) VALUES (?)", [.text(name)]) }
        #expect(db.lastInsertRowID == 3)
        let statement = try db.prepare("SELECT id, name AS label FROM t WHERE id >= ? ORDER BY id")
        #expect(statement.parameterCount == 1)
        #expect(statement.columnCount == 2)
        #expect(statement.columnName(0) == "id")
        #expect(statement.columnName(1) == "label")
        #expect(statement.columnName(2) == "")
        #expect(statement.columnName(-1) == "")
        try statement.bind([.integer(2)])
        var rows: [[SQLValue]] = []
        while try statement.step() { rows.append(statement.row()) }
        #expect(rows == [[.integer(2), .text("b")], [.integer(3), .text("c")]])
        #expect(try statement.step() == true)  // stepping after the end starts over
        try statement.reset()
        #expect(try statement.step() == true)
        #expect(statement.row() == [.integer(2), .text("b")])
        try statement.bind([.integer(3)])
        #expect(try statement.step() == true)
        #expect(statement.row() == [.integer(3), .text("c")])
        #expect(try statement.step() == false)
    }

    @Test func reusedInsertCountsChanges() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("s.db"))
        try db.execute("CREATE TABLE t(x)")
        let insert = try db.prepare("INSERT INTO t VALUES (?)")
        for value in 1...5 {
            try insert.bind([.integer(Int64(value))])
            #expect(try insert.step() == false)
        }
        #expect(try db.execute("UPDATE t SET x = x + 1 WHERE x > ?", [.integer(2)]) == 3)
        #expect(db.changes == 3)
        #expect(try db.execute("DELETE FROM t", []) == 5)
    }

    @Test func namedParametersBindInOrder() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("s.db"))
        #expect(try db.query("SELECT :a || :b", [.text("x"), .text("y")]) == [[.text("xy")]])
    }

    @Test func stepErrorLeavesStatementReusable() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("s.db"))
        try db.execute("CREATE TABLE t(x UNIQUE)")
        let insert = try db.prepare("INSERT INTO t VALUES (?)")
        try insert.bind([.integer(1)])
        _ = try insert.step()
        try insert.bind([.integer(1)])
        #expect(sqliteError { () throws(SQLiteError) in try insert.step() }?.code == SQLiteError.constraint)
        try insert.reset()
        try insert.bind([.integer(2)])
        #expect(try insert.step() == false)
        #expect(try db.query("SELECT x FROM t ORDER BY x") == [[.integer(1)], [.integer(2)]])
    }
}
