import SynSystem
import Glibc

/// Key files: the 64-byte libsodium secret key (seed + public key), raw, mode 0600, owned by the node's user.
public enum KeyFile {
    /// Exact size of a key file in bytes.
    public static let size = Ed25519.secretKeyLength

    /// Loads the key at `path`, or creates it if absent.
    ///
    /// Creation writes a temporary file in the same directory (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600), fsyncs it,
    /// links it into place (never replacing an existing file), then fsyncs the directory, so a crash never leaves
    /// a partial key at `path`. If another process wins the race, its key is loaded. Refusals are as for `load`;
    /// the parent directory must already exist.
    public static func loadOrCreate(path: String) throws(SodiumError) -> (key: SigningKey, created: Bool) {
        switch try KeyFileReader.open(path: path) {
        case .some(let file):
            defer { close(file.fd) }
            return (try file.readKey(), false)
        case .none:
            if let key = try create(path: path) { return (key, true) }
            return (try load(path: path), false)
        }
    }

    /// Loads the key at `path`.
    ///
    /// Refuses (`.permissions`, naming the path, the mode found and the fix) a symlink, a file not owned by the
    /// current user, or one readable or writable by group or others; refuses (`.format`) anything but a regular
    /// file of exactly 64 bytes; refuses (`.badKey`) a file whose public half does not match its seed; `.io` for a
    /// missing or unreadable file.
    public static func load(path: String) throws(SodiumError) -> SigningKey {
        guard let file = try KeyFileReader.open(path: path) else {
            throw SodiumError(.io, "no key file at \(path) (ENOENT)")
        }
        defer { close(file.fd) }
        return try file.readKey()
    }

    /// Writes a new key to `path`; nil if a file appeared there first.
    private static func create(path: String) throws(SodiumError) -> SigningKey? {
        let key = try SigningKey.generate()
        let directory = KeyFileReader.directory(of: path)
        let temporary = path + ".tmp-" + Hex.encode(SecureRandom.bytes(8))
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SodiumError(.io, "cannot create key file in \(directory) (\(Errno.describe(errno)))")
        }
        var linked = false
        defer { if !linked { unlink(temporary) } }
        do {
            defer { close(fd) }
            guard fchmod(fd, 0o600) == 0 else {
                throw SodiumError(.io, "cannot set mode 0600 on \(temporary) (\(Errno.describe(errno)))")
            }
            try key.secret.withPointer { (sk) throws(SodiumError) in
                try writeAll(fd, UnsafeRawBufferPointer(start: sk, count: KeyFile.size), path: temporary)
            }
            guard fsync(fd) == 0 else {
                throw SodiumError(.io, "cannot fsync \(temporary) (\(Errno.describe(errno)))")
            }
        }
        if link(temporary, path) != 0 {
            let code = errno
            if code == EEXIST { return nil }
            throw SodiumError(.io, "cannot link new key file into place at \(path) (\(Errno.describe(code)))")
        }
        linked = true
        unlink(temporary)
        try syncDirectory(directory)
        return key
    }

    /// Writes all of `bytes` to `fd`, retrying on EINTR and short writes.
    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SodiumError) {
        var offset = 0
        while offset < bytes.count {
            let count = write(fd, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            if count < 0 {
                if errno == EINTR { continue }
                throw SodiumError(.io, "cannot write \(path) (\(Errno.describe(errno)))")
            }
            offset += count
        }
    }

    /// Fsyncs `directory` so a new entry in it survives a crash.
    private static func syncDirectory(_ directory: String) throws(SodiumError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SodiumError(.io, "cannot open \(directory) (\(Errno.describe(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else {
            throw SodiumError(.io, "cannot fsync directory \(directory) (\(Errno.describe(errno)))")
        }
    }
}
