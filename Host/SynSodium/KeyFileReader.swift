import SynSystem
import Glibc

/// An open, vetted key file: not a symlink, a regular file owned by the current user with no group/other access.
struct KeyFileReader {
    let fd: Int32
    let path: String

    /// Opens and vets the key file at `path` without following a final symlink; nil if nothing is there.
    /// The caller closes `fd`.
    static func open(path: String) throws(SodiumError) -> KeyFileReader? {
        try Sodium.initialize()
        let fd = Glibc.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return nil }
            if code == ELOOP {
                throw SodiumError(.permissions, "key file \(path) is a symbolic link; refusing to follow it; "
                    + "fix: replace it with the real file (mode 0600, owned by this user)")
            }
            if code == EACCES {
                throw SodiumError(.permissions, "key file \(path) is not readable by the current user (EACCES); "
                    + "fix: chown \(geteuid()) \(path) && chmod 600 \(path)")
            }
            throw SodiumError(.io, "cannot open key file \(path) (\(Errno.describe(code)))")
        }
        let reader = KeyFileReader(fd: fd, path: path)
        do {
            try reader.vet()
        } catch {
            close(fd)
            throw error
        }
        return reader
    }

    /// Checks type, owner, mode and size through the open descriptor (no race with the path).
    private func vet() throws(SodiumError) {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw SodiumError(.io, "cannot stat key file \(path) (\(Errno.describe(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw SodiumError(.format, "key file \(path) is not a regular file")
        }
        let mode = info.st_mode & 0o7777
        let user = geteuid()
        guard info.st_uid == user else {
            throw SodiumError(.permissions, "key file \(path) is owned by uid \(info.st_uid), not the current user "
                + "(uid \(user)); mode \(Self.octal(mode)); fix: chown \(user) \(path) && chmod 600 \(path)")
        }
        guard mode & 0o077 == 0 else {
            throw SodiumError(.permissions, "key file \(path) has mode \(Self.octal(mode)): group or others "
                + "may access it; fix: chmod 600 \(path)")
        }
        guard info.st_size == KeyFile.size else {
            throw SodiumError(.format, "key file \(path) is \(info.st_size) bytes; expected \(KeyFile.size) "
                + "(raw libsodium ed25519 secret key: seed + public key)")
        }
    }

    /// Reads the 64 bytes straight into guarded memory and checks the key pair is consistent.
    func readKey() throws(SodiumError) -> SigningKey {
        let secret = try SecretBuffer(count: KeyFile.size) { (sk) throws(SodiumError) in
            var offset = 0
            while offset < KeyFile.size {
                let count = pread(fd, sk + offset, KeyFile.size - offset, off_t(offset))
                if count < 0 {
                    if errno == EINTR { continue }
                    throw SodiumError(.io, "cannot read key file \(path) (\(Errno.describe(errno)))")
                }
                if count == 0 {
                    throw SodiumError(.format, "key file \(path) ended after \(offset) bytes; expected \(KeyFile.size)")
                }
                offset += count
            }
        }
        return try SigningKey.adopt(secret, source: "key file \(path)")
    }

    /// `0644`-style octal for a mode.
    static func octal(_ mode: mode_t) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// The directory part of `path`: "." when there is none, "/" for files at the root.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }
}
