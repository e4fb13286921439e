/// An SQLite failure: the result code, SQLite's message and the SQL that failed.
///
/// Match a primary result code with `~=`, for example `catch SQLiteError.constraint { … }`.
public struct SQLiteError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The primary result code (the low byte of `extendedCode`), e.g. `SQLiteError.constraint`.
    public let code: Int32
    /// The extended result code, e.g. 2067 for a UNIQUE constraint failure.
    public let extendedCode: Int32
    /// SQLite's message, or this module's when the failure was detected before calling SQLite.
    public let message: String
    /// The SQL being prepared or run, if any.
    public let sql: String?

    /// Creates an error from an (extended) result code; `code` is derived from its low byte.
    public init(extendedCode: Int32, message: String, sql: String? = nil) {
        self.code = extendedCode & 0xFF
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
    }

    public var description: String {
        var text = "SQLite error \(code)"
        if extendedCode != code { text += " (extended \(extendedCode))" }
        text += ": \(message)"
        if let sql { text += " - while executing `\(sql)`" }
        return text
    }

    /// Generic error (SQLITE_ERROR).
    public static let error: Int32 = 1
    /// The database file is locked by another connection (SQLITE_BUSY).
    public static let busy: Int32 = 5
    /// A table in the database is locked (SQLITE_LOCKED).
    public static let locked: Int32 = 6
    /// Out of memory (SQLITE_NOMEM).
    public static let noMemory: Int32 = 7
    /// Attempt to write a read-only database (SQLITE_READONLY).
    public static let readOnly: Int32 = 8
    /// Disk I/O error (SQLITE_IOERR).
    public static let ioError: Int32 = 10
    /// A statement was interrupted (past `Database.limitStatements(toMilliseconds:)`).
    public static let interrupt: Int32 = 9
    /// The database file is malformed (SQLITE_CORRUPT).
    public static let corrupt: Int32 = 11
    /// The database or disk is full, including the `max_page_count` quota (SQLITE_FULL).
    public static let full: Int32 = 13
    /// The database file could not be opened (SQLITE_CANTOPEN).
    public static let cantOpen: Int32 = 14
    /// A string, blob or result is too big (SQLITE_TOOBIG); also a query past its row or byte limit.
    public static let tooBig: Int32 = 18
    /// A constraint was violated (SQLITE_CONSTRAINT).
    public static let constraint: Int32 = 19
    /// Library used incorrectly, e.g. on a closed connection (SQLITE_MISUSE).
    public static let misuse: Int32 = 21
    /// The authorizer refused the statement (SQLITE_AUTH).
    public static let auth: Int32 = 23
    /// A parameter index or argument count is out of range (SQLITE_RANGE).
    public static let range: Int32 = 25
    /// The file is not a database (SQLITE_NOTADB).
    public static let notADatabase: Int32 = 26

    /// Matches an error by its primary result code: `case SQLiteError.full:`.
    public static func ~= (code: Int32, error: SQLiteError) -> Bool {
        error.code == code
    }
}
