import SynSQLite
import SynTestSupport
import Testing

/// Every storage class goes in and comes out unchanged.
@Suite struct SQLValueTests {
    static let values: [SQLValue] = [
        .null,
        .integer(0), .integer(1), .integer(-1), .integer(Int64.min), .integer(Int64.max),
        .real(0), .real(1.5), .real(-2.25e-300), .real(Double.pi), .real(Double.greatestFiniteMagnitude),
        .real(-Double.greatestFiniteMagnitude), .real(Double.leastNonzeroMagnitude), .real(Double.infinity),
        .real(-Double.infinity),
        .text(""), .text("hello"), .text("a\u{0}b"), .text("\u{0}"), .text("héllo 🌍 日本"),
        .blob([]), .blob([0]), .blob([0, 1, 0, 255]),
    ]

    @Test func largeValuesRoundTrip() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("v.db"))
        try db.execute("CREATE TABLE v(id INTEGER PRIMARY KEY, x)")
        let text = SQLValue.text(String(repeating: "xé\u{0}", count: 100_000))
        let blob = SQLValue.blob((0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try db.execute("INSERT INTO v(x) VALUES (?), (?)", [text, blob])
        db.close()
        let reopened = try Database(path: dir.file("v.db"))
        #expect(try reopened.query("SELECT x FROM v ORDER BY id") == [[text], [blob]])
    }

    @Test(arguments: values)
    func roundTripThroughTable(_ value: SQLValue) throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("v.db"))
        try db.execute("CREATE TABLE v(x)")
        #expect(try db.execute("INSERT INTO v(x) VALUES (?)", [value]) == 1)
        #expect(try db.query("SELECT x FROM v") == [[value]])
        db.close()
        let reopened = try Database(path: dir.file("v.db"))
        #expect(try reopened.query("SELECT x FROM v") == [[value]])
    }

    @Test(arguments: values)
    func roundTripAsParameter(_ value: SQLValue) throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("v.db"))
        #expect(try db.query("SELECT ?", [value]) == [[value]])
    }

    @Test func storageClassesAreDistinct() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("v.db"))
        try db.execute("CREATE TABLE v(id INTEGER PRIMARY KEY, x)")
        let values: [SQLValue] = [.null, .blob([]), .text(""), .integer(0), .real(0)]
        for value in values { try db.execute("INSERT INTO v(x) VALUES (?)", [value]) }
        let types = try db.query("SELECT typeof(x), x IS NULL FROM v ORDER BY id")
        #expect(types == [
            [.text("null"), .integer(1)], [.text("blob"), .integer(0)], [.text("text"), .integer(0)],
            [.text("integer"), .integer(0)], [.text("real"), .integer(0)],
        ])
    }

    @Test func embeddedNulBytesReachSQLite() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("v.db"))
        #expect(try scalar(db, "SELECT hex(?)", [.text("a\u{0}b")]) == .text("610062"))
        #expect(try scalar(db, "SELECT hex(?)", [.blob([0, 0x61, 0])]) == .text("006100"))
        #expect(try scalar(db, "SELECT length(?)", [.blob([0, 0, 0])]) == .integer(3))
    }

    @Test func nanIsStoredAsNull() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("v.db"))
        #expect(try scalar(db, "SELECT ?", [.real(.nan)]) == .null)
    }

    @Test func byteCount() {
        #expect(SQLValue.null.byteCount == 0)
        #expect(SQLValue.integer(5).byteCount == 8)
        #expect(SQLValue.real(5).byteCount == 8)
        #expect(SQLValue.text("é").byteCount == 2)
        #expect(SQLValue.blob([1, 2, 3]).byteCount == 3)
    }
}
