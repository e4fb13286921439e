import Foundation
public import SynSodium
#if canImport(Glibc)
import Glibc
#endif

/// Where an archive's key comes from: a key file of 32 random bytes, or a passphrase (a key file holding text, or
/// typed), stretched with Argon2id under the archive's own salt.
public enum BackupKey: Sendable {
    case key(SecretKey)
    case passphrase([UInt8])

    /// Reads a key file: exactly 32 bytes is a key; anything else is a passphrase (one line, its newline dropped).
    /// The file must belong to this user and be readable by no one else, like the node's key.
    public static func load(path: String) throws(BackupError) -> BackupKey {
        var st = stat()
        guard stat(path, &st) == 0 else { throw BackupError(.key, "no backup key file at \(path); make one with `syneroym backup --make-key \(path)`") }
        guard st.st_mode & 0o077 == 0 else {
            throw BackupError(.key, "\(path) can be read by others (mode \(String(st.st_mode & 0o777, radix: 8))); chmod 600 \(path)")
        }
        guard st.st_size > 0, st.st_size <= 4096, let data = FileManager.default.contents(atPath: path) else {
            throw BackupError(.key, "\(path) is empty, unreadable or over 4096 bytes; a backup key file holds 32 random bytes or a passphrase")
        }
        var bytes = Array(data)
        defer { for i in bytes.indices { bytes[i] = 0 } }
        if bytes.count == SecretKey.length {
            do { return .key(try SecretKey(bytes: bytes)) } catch { throw BackupError(.key, error.message) }
        }
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        guard !bytes.isEmpty else { throw BackupError(.key, "\(path) holds an empty passphrase") }
        return .passphrase(bytes)
    }

    /// Writes a new key file of 32 random bytes, mode 0600; never replaces an existing file.
    public static func make(path: String) throws(BackupError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw BackupError(.key, errno == EEXIST ? "\(path) exists already; a key file is never replaced" : "cannot create \(path): errno \(errno)")
        }
        defer { close(fd) }
        var bytes = SecureRandom.bytes(SecretKey.length)
        defer { for i in bytes.indices { bytes[i] = 0 } }
        guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else {
            unlink(path)
            throw BackupError(.key, "cannot write \(path): errno \(errno)")
        }
    }

    /// The key for an archive whose header names `kdf` and `salt`.
    func resolve(kdf: String, salt: [UInt8], opsLimit: UInt64, memLimit: Int) throws(BackupError) -> SecretKey {
        switch (self, kdf) {
        case (.key(let key), "key"): return key
        case (.passphrase(let words), "argon2id"):
            do { return try SecretKey.derive(passphrase: words, salt: salt, opsLimit: opsLimit, memLimit: memLimit) } catch {
                throw BackupError(.key, error.message)
            }
        case (.key, _): throw BackupError(.wrongKey, "the archive was made with a passphrase, and this is a key file of 32 bytes; give the passphrase")
        default: throw BackupError(.wrongKey, "the archive was made with a key file, and this is a passphrase; give the key file")
        }
    }
}
