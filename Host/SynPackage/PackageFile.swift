import SynSystem
#if canImport(Glibc)
import Glibc
#endif

/// A file read or written in pieces for packages, with `EINTR` retried and errors named with the path.
struct PackageFile: ~Copyable {
    let fd: Int32
    let path: String

    /// Opens `path` for reading.
    init(reading path: String) throws(PackageError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PackageError(.io, "cannot open \(path): \(Errno.describe(errno))") }
        self.fd = fd
        self.path = path
    }

    /// Creates `path` (which must not exist) with `mode`, for writing.
    init(creating path: String, mode: mode_t = 0o600) throws(PackageError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw PackageError(.io, "cannot create \(path): \(Errno.describe(errno))") }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// The file's size in bytes.
    func size() throws(PackageError) -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw PackageError(.io, "cannot stat \(path): \(Errno.describe(errno))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw PackageError(.io, "\(path) is not a regular file") }
        return Int(st.st_size)
    }

    /// Exactly `count` bytes from the current offset; `.format` when the file ends first.
    func read(_ count: Int) throws(PackageError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, count - done) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw PackageError(.io, "cannot read \(path): \(Errno.describe(errno))") }
            if n == 0 { throw PackageError(.format, "\(path) ends after \(done) of \(count) expected bytes: the package is truncated") }
            done += n
        }
        return out
    }

    /// Up to `limit` bytes into the start of `buffer`; 0 at the end of the file.
    func readSome(into buffer: inout [UInt8], limit: Int) throws(PackageError) -> Int {
        let wanted = min(limit, buffer.count)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, wanted) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw PackageError(.io, "cannot read \(path): \(Errno.describe(errno))") }
            return n
        }
    }

    /// Writes the first `count` bytes of `bytes` (all of them by default).
    func write(_ bytes: [UInt8], count: Int? = nil) throws(PackageError) {
        let total = min(count ?? bytes.count, bytes.count)
        var done = 0
        while done < total {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, total - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw PackageError(.io, "cannot write \(path): \(Errno.describe(errno))") }
            done += n
        }
    }

    /// Flushes the file's data to disk.
    func sync() throws(PackageError) {
        guard fsync(fd) == 0 else { throw PackageError(.io, "cannot fsync \(path): \(Errno.describe(errno))") }
    }
}
