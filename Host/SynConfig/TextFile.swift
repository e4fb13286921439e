import SynSystem
import Glibc

/// Reads small files with plain POSIX calls.
enum TextFile {
    /// Largest configuration file accepted, in bytes.
    static let maxBytes = 1 << 20

    /// Reads the whole file at `path` as UTF-8 text.
    static func read(path: String) throws(ConfigError) -> String {
        var bytes: [UInt8] = []
        try chunks(path: path, size: 16 * 1024) { chunk throws(ConfigError) in
            bytes.append(contentsOf: chunk)
            if bytes.count > maxBytes {
                throw ConfigError(code: .unreadable, file: path,
                                  message: "file is larger than \(maxBytes / 1024) KiB; configuration files are small")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(code: .unreadable, file: path, message: "file is not valid UTF-8 text")
        }
        return text
    }

    /// Reads the file at `path` in chunks of at most `size` bytes, handing each to `body`.
    static func chunks(path: String, size: Int,
                       _ body: (UnsafeBufferPointer<UInt8>) throws(ConfigError) -> Void) throws(ConfigError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ConfigError(code: .unreadable, file: path, message: "cannot open file (\(Errno.describe(errno)))")
        }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: size)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ConfigError(code: .unreadable, file: path, message: "cannot read file (\(Errno.describe(errno)))")
            }
            if count == 0 { return }
            let result: Result<Void, ConfigError> = chunk.withUnsafeBufferPointer { all in
                do throws(ConfigError) {
                    try body(UnsafeBufferPointer(rebasing: all[0..<count]))
                    return .success(())
                } catch { return .failure(error) }
            }
            try result.get()
        }
    }

    /// Whether `path` names a regular file (following symlinks).
    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return (info.st_mode & S_IFMT) == S_IFREG
    }

    /// Joins a directory and a relative path; an empty directory yields `name` unchanged.
    static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The directory part of `path`: "." when there is none, "/" for files at the root.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }
}
