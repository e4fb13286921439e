import Glibc
import SynSQLite

/// A fresh directory under /tmp for one test's real database files; removed, with its files, when released.
final class TempDir {
    let path: String

    init() {
        var template = Array("/tmp/synsqlite-test-XXXXXX".utf8CString)
        let made: String? = template.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress, let result = mkdtemp(base) else { return nil }
            return String(cString: result)
        }
        path = made ?? "/tmp/synsqlite-test-unavailable"
    }

    deinit {
        for name in entries() { unlink(path + "/" + name) }
        rmdir(path)
    }

    /// The full path of `name` in this directory.
    func file(_ name: String) -> String { path + "/" + name }

    /// The names of the files in this directory.
    func entries() -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Whether `name` exists in this directory.
    func exists(_ name: String) -> Bool { access(file(name), F_OK) == 0 }

    /// Writes `bytes` to `name`.
    func write(_ name: String, _ bytes: [UInt8]) {
        let fd = open(file(name), O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count <= 0 { return }
            offset += count
        }
    }

    /// The size of `name` in bytes, or -1 if it does not exist.
    func size(_ name: String) -> Int {
        var info = stat()
        guard stat(file(name), &info) == 0 else { return -1 }
        return Int(info.st_size)
    }
}

/// Runs `body` and returns the SQLiteError it throws, or nil if it succeeds.
func sqliteError<T>(_ body: () throws(SQLiteError) -> T) -> SQLiteError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// The single value of a one-row, one-column query.
func scalar(_ db: Database, _ sql: String, _ arguments: [SQLValue] = []) throws -> SQLValue? {
    try db.query(sql, arguments).first?.first
}
