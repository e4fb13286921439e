#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp holding one test's real files; it and everything in it are removed when released.
public final class TempDir: @unchecked Sendable {
    public let path: String

    /// - Parameter label: names the directory (`/tmp/<label>-XXXXXX`), so a leftover says which tests made it.
    public init(_ label: String = "syneroym-test") {
        var template = Array("/tmp/\(label)-XXXXXX".utf8CString)
        let made: String? = template.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress, let result = mkdtemp(base) else { return nil }
            return String(cString: result)
        }
        path = made ?? "/tmp/\(label)-unavailable"
    }

    deinit { Self.remove(path) }

    /// `name` inside this directory.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Creates the subdirectory `name` and returns its path.
    @discardableResult
    public func directory(_ name: String) -> String {
        let full = file(name)
        mkdir(full, 0o755)
        return full
    }

    /// Writes `bytes` to `name` with `mode` (exactly, regardless of umask) and returns the full path.
    @discardableResult
    public func write(_ name: String, bytes: [UInt8], mode: UInt32 = 0o600) -> String {
        let full = file(name)
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { return full }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            offset += count
        }
        fchmod(fd, mode)
        return full
    }

    /// Writes UTF-8 `text` to `name` and returns the full path.
    @discardableResult
    public func write(_ name: String, _ text: String) -> String { write(name, bytes: Array(text.utf8)) }

    /// Names of the entries in this directory, sorted.
    public func entries() -> [String] { Self.entries(of: path) }

    /// Whether `name` exists in this directory.
    public func exists(_ name: String) -> Bool { access(file(name), F_OK) == 0 }

    /// The size of `name` in bytes, or -1 if it does not exist.
    public func size(_ name: String) -> Int {
        var info = stat()
        guard stat(file(name), &info) == 0 else { return -1 }
        return Int(info.st_size)
    }

    private static func entries(of directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Removes `path` and what it holds, without following symbolic links.
    private static func remove(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            chmod(path, 0o700)
            for name in entries(of: path) { remove(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
