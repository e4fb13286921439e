import Glibc
import SynSodium

/// A fresh directory under /tmp holding real files for one test; it and its entries are removed when released.
final class TempDir {
    let path: String

    init() {
        var template = Array("/tmp/synsodium-test-XXXXXX".utf8CString)
        let made: String? = template.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress, let result = mkdtemp(base) else { return nil }
            return String(cString: result)
        }
        path = made ?? "/tmp/synsodium-test-unavailable"
    }

    deinit {
        for name in entries() { unlink(path + "/" + name) }
        rmdir(path)
    }

    /// `name` inside this directory.
    func file(_ name: String) -> String { path + "/" + name }

    /// Writes `bytes` to `name` with `mode` (exactly, regardless of umask) and returns the full path.
    @discardableResult
    func write(_ name: String, bytes: [UInt8], mode: mode_t = 0o600) -> String {
        let full = file(name)
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, mode)
        if fd >= 0 {
            var offset = 0
            while offset < bytes.count {
                let count = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                offset += count
            }
            fchmod(fd, mode)
            close(fd)
        }
        return full
    }

    /// Names of the entries in this directory, sorted.
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
        return names.sorted()
    }
}

/// The whole content of the file at `path` (empty if unreadable).
func readBytes(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return [] }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        out.append(contentsOf: chunk[0..<count])
    }
    return out
}

/// `lstat` permission bits of `path`, or nil.
func modeBits(_ path: String) -> mode_t? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return info.st_mode & 0o7777
}

/// Runs `body` and returns the SodiumError it throws, or nil if it succeeds.
func sodiumError<T>(_ body: () throws(SodiumError) -> T) -> SodiumError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// Bytes from hex in test vectors (empty on a typo, which then fails the test).
func bytes(_ hex: String) -> [UInt8] { Hex.decode(hex) ?? [] }
