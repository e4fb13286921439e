import Glibc
import SynConfig

/// A fresh directory under /tmp holding real files for one test; removed when released.
final class TempDir {
    let path: String
    private var created: [String] = []

    init() {
        var template = Array("/tmp/synconfig-test-XXXXXX".utf8CString)
        let made: String? = template.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress, let result = mkdtemp(base) else { return nil }
            return String(cString: result)
        }
        path = made ?? "/tmp"
    }

    deinit {
        for item in created.reversed() where unlink(item) != 0 { rmdir(item) }
        if path != "/tmp" { rmdir(path) }
    }

    /// Creates `name` (a subdirectory) and returns its path.
    @discardableResult
    func directory(_ name: String) -> String {
        let full = path + "/" + name
        mkdir(full, 0o755)
        created.append(full)
        return full
    }

    /// Writes `bytes` to `name` (relative to this directory) and returns the full path.
    @discardableResult
    func write(_ name: String, bytes: [UInt8]) -> String {
        let full = path + "/" + name
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd >= 0 {
            var offset = 0
            while offset < bytes.count {
                let count = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                offset += count
            }
            close(fd)
        }
        created.append(full)
        return full
    }

    /// Writes UTF-8 `text` to `name` and returns the full path.
    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        write(name, bytes: Array(text.utf8))
    }
}

/// The repository root, found from this file's real location (Tests/SynConfigTests/ -> root).
func repositoryRoot(file: String = #filePath) -> String {
    var resolved = file
    if let real = realpath(file, nil) {
        resolved = String(cString: real)
        free(real)
    }
    var parts = resolved.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}

/// Runs `body` and returns the ConfigError it throws, or nil if it succeeds.
func configError<T>(_ body: () throws(ConfigError) -> T) -> ConfigError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}
