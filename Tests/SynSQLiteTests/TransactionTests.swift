import SynSQLite
import SynTestSupport
import Testing

/// Transactions and savepoints, checked by reopening the file.
@Suite struct TransactionTests {
    func count(_ path: String) throws -> SQLValue? {
        try scalar(Database(path: path), "SELECT count(*) FROM t")
    }

    func setUp() throws -> (TempDir, Database) {
        let dir = TempDir()
        let db = try Database(path: dir.file("t.db"))
        try db.execute("CREATE TABLE t(x)")
        return (dir, db)
    }

    @Test func commitKeepsWrites() throws {
        let (dir, db) = try setUp()
        #expect(!db.isInTransaction)
        try db.beginImmediate()
        #expect(db.isInTransaction)
        try db.execute("INSERT INTO t VALUES (1)", [])
        try db.execute("INSERT INTO t VALUES (2)", [])
        try db.commit()
        #expect(!db.isInTransaction)
        db.close()
        #expect(try count(dir.file("t.db")) == .integer(2))
    }

    @Test func rollbackDiscardsWrites() throws {
        let (dir, db) = try setUp()
        try db.execute("INSERT INTO t VALUES (0)", [])
        try db.beginImmediate()
        try db.execute("INSERT INTO t VALUES (1)", [])
        #expect(try scalar(db, "SELECT count(*) FROM t") == .integer(2))
        try db.rollback()
        #expect(!db.isInTransaction)
        db.close()
        let reopened = try Database(path: dir.file("t.db"))
        #expect(try reopened.query("SELECT x FROM t") == [[.integer(0)]])
    }

    @Test func closingWithAnOpenTransactionDiscardsIt() throws {
        let (dir, db) = try setUp()
        try db.beginImmediate()
        try db.execute("INSERT INTO t VALUES (1)", [])
        db.close()
        #expect(try count(dir.file("t.db")) == .integer(0))
    }

    @Test func rollbackWithoutTransactionDoesNothing() throws {
        let (_, db) = try setUp()
        try db.rollback()
        try db.rollback()
        let commitError = sqliteError { () throws(SQLiteError) in try db.commit() }
        #expect(commitError?.code == SQLiteError.error)
        #expect(commitError?.message.contains("no transaction is active") == true)
    }

    @Test func nestedBeginFails() throws {
        let (_, db) = try setUp()
        try db.beginImmediate()
        let error = sqliteError { () throws(SQLiteError) in try db.beginImmediate() }
        #expect(error?.message.contains("within a transaction") == true)
        try db.rollback()
    }

    @Test func transactionClosureCommitsOrRollsBack() throws {
        let (dir, db) = try setUp()
        let value = try db.transaction { () throws(SQLiteError) -> Int in
            try db.execute("INSERT INTO t VALUES (1)", [])
        }
        #expect(value == 1)
        let error = sqliteError { () throws(SQLiteError) in
            try db.transaction { () throws(SQLiteError) in
                try db.execute("INSERT INTO t VALUES (2)", [])
                try db.execute("INSERT INTO nowhere VALUES (3)", [])
            }
        }
        #expect(error?.message.contains("no such table") == true)
        #expect(!db.isInTransaction)
        db.close()
        #expect(try count(dir.file("t.db")) == .integer(1))
    }

    @Test func savepointsNest() throws {
        let (dir, db) = try setUp()
        try db.beginImmediate()
        try db.execute("INSERT INTO t VALUES (1)", [])
        try db.savepoint("outer_1")
        try db.execute("INSERT INTO t VALUES (2)", [])
        try db.savepoint("Inner2")
        try db.execute("INSERT INTO t VALUES (3)", [])
        try db.rollbackToSavepoint("Inner2")
        try db.releaseSavepoint("Inner2")
        try db.releaseSavepoint("outer_1")
        try db.commit()
        db.close()
        let reopened = try Database(path: dir.file("t.db"))
        #expect(try reopened.query("SELECT x FROM t ORDER BY x") == [[.integer(1)], [.integer(2)]])
    }

    @Test func savepointOutsideTransactionStartsOne() throws {
        let (dir, db) = try setUp()
        try db.savepoint("9lives")
        #expect(db.isInTransaction)
        try db.execute("INSERT INTO t VALUES (1)", [])
        try db.rollbackToSavepoint("9lives")
        try db.releaseSavepoint("9lives")
        #expect(!db.isInTransaction)
        db.close()
        #expect(try count(dir.file("t.db")) == .integer(0))
    }

    @Test(arguments: ["", "a b", "x\"; DROP TABLE t; --", "é", "a-b", "s;"])
    func invalidSavepointNamesAreRefused(_ name: String) throws {
        let (_, db) = try setUp()
        let error = sqliteError { () throws(SQLiteError) in try db.savepoint(name) }
        #expect(error?.code == SQLiteError.misuse)
        #expect(error?.message.contains("invalid savepoint name") == true)
        #expect(sqliteError { () throws(SQLiteError) in try db.releaseSavepoint(name) }?.code == SQLiteError.misuse)
        #expect(sqliteError { () throws(SQLiteError) in try db.rollbackToSavepoint(name) }?.code == SQLiteError.misuse)
        #expect(!db.isInTransaction)
        #expect(try scalar(db, "SELECT count(*) FROM t") == .integer(0))
    }
}
