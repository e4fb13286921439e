import Foundation
import SynSodium
#if canImport(Glibc)
import Glibc
#endif

/// Writes a backup archive (see `BackupArchive`): files are streamed in, encrypted, and hashed as they pass; the
/// manifest of hashes closes the stream. The archive is written under a temporary name and renamed into place by
/// `finish`, so a failed backup never leaves a file that looks complete.
public final class ArchiveWriter {
    public let path: String
    private let temporary: String
    private let fd: Int32
    private var stream: SecretStream.Writer
    private var files: [ArchivedFile] = []
    /// Bytes written to the archive so far.
    public private(set) var written: Int64 = 0
    private var done = false

    /// Starts an archive at `path`, encrypted under `key` (a passphrase is stretched with a fresh salt).
    public init(path: String, key: BackupKey, info: ArchiveInfo) throws(BackupError) {
        self.path = path
        temporary = path + ".partial"
        let secret: SecretKey
        var header: [String: Any] = ["format": BackupArchive.version, "created": info.snapshot, "node": info.node]
        switch key {
        case .key(let k):
            secret = k
            header["kdf"] = "key"
        case .passphrase:
            let salt = SecureRandom.bytes(SecretKey.saltLength)
            secret = try key.resolve(kdf: "argon2id", salt: salt, opsLimit: SecretKey.backupOpsLimit, memLimit: SecretKey.backupMemLimit)
            header["kdf"] = "argon2id"
            header["salt"] = Base64URL.encode(salt)
            header["ops_limit"] = Int(SecretKey.backupOpsLimit)
            header["mem_limit"] = SecretKey.backupMemLimit
        }
        header["key_id"] = secret.fingerprint
        let headerBytes: [UInt8]
        do { headerBytes = Array(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) } catch {
            throw BackupError(.format, "cannot encode the archive header: \(error)")
        }
        do { stream = try SecretStream.Writer(key: secret) } catch { throw BackupError(.key, error.message) }
        unlink(temporary)
        fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BackupError(.io, "cannot create \(temporary): errno \(errno)") }
        var length = UInt32(headerBytes.count).littleEndian
        do throws(BackupError) {
            try put(BackupArchive.magic + withUnsafeBytes(of: &length) { Array($0) } + headerBytes + stream.header)
            let begin: [UInt8]
            do { begin = Array(try JSONEncoder().encode(info)) } catch { throw BackupError(.format, "\(error)") }
            try record(.begin, begin, additional: headerBytes)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
    }

    deinit {
        if !done {
            close(fd)
            unlink(temporary)
        }
    }

    /// Adds the file at `source` as `path` (relative to the data directory), reading it in chunks; `progress` gets
    /// the bytes of it read so far.
    public func add(_ source: String, as path: String, progress: (Int64) -> Void = { _ in }) throws(BackupError) {
        guard !path.isEmpty, path.utf8.count <= BackupArchive.maxPathBytes, !path.hasPrefix("/"),
              !path.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
            throw BackupError(.format, "'\(path)' cannot be archived: paths are relative and plain")
        }
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw BackupError(.io, "cannot open \(source): errno \(errno)") }
        defer { close(input) }
        var st = stat()
        guard fstat(input, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw BackupError(.io, "\(source) is not a regular file") }
        let size = Int64(st.st_size)
        let fileRecord: [UInt8]
        do { fileRecord = Array(try JSONEncoder().encode(ArchivedFile(path: path, size: size, sha256: ""))) } catch {
            throw BackupError(.format, "\(error)")
        }
        try record(.file, fileRecord)
        var hash = SHA256Stream()
        var buffer = [UInt8](repeating: 0, count: BackupArchive.chunkBytes)
        var left = size
        while left > 0 {
            let want = Int(min(left, Int64(buffer.count)))
            var got = 0
            while got < want {
                let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress! + got, want - got) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 { throw BackupError(.io, "cannot read \(source): errno \(errno)") }
                if n == 0 { throw BackupError(.io, "\(source) shrank while it was archived") }
                got += n
            }
            let piece = Array(buffer[0..<want])
            hash.update(piece)
            try record(.data, piece)
            left -= Int64(want)
            progress(size - left)
        }
        files.append(ArchivedFile(path: path, size: size, sha256: Hex.encode(hash.finish())))
    }

    /// Closes the stream with the manifest, syncs the archive and renames it into place. Returns what it holds.
    public func finish() throws(BackupError) -> [ArchivedFile] {
        let manifest: [UInt8]
        do { manifest = Array(try JSONEncoder().encode(files)) } catch { throw BackupError(.format, "\(error)") }
        try record(.manifest, manifest, final: true)
        guard fsync(fd) == 0 else { throw BackupError(.io, "cannot sync \(temporary): errno \(errno)") }
        close(fd)
        done = true
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw BackupError(.io, "cannot rename \(temporary) to \(path): errno \(errno)")
        }
        // The directory entry too, so the archive survives a crash right after.
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 { fsync(directory); close(directory) }
        return files
    }

    private func record(_ type: BackupArchive.Record, _ body: [UInt8], additional: [UInt8] = [], final: Bool = false) throws(BackupError) {
        let ciphertext = stream.push([type.rawValue] + body, additional: additional, final: final)
        var length = UInt32(ciphertext.count).littleEndian
        try put(withUnsafeBytes(of: &length) { Array($0) } + ciphertext)
    }

    private func put(_ bytes: [UInt8]) throws(BackupError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw BackupError(.io, "cannot write \(temporary): errno \(errno) (is the disk full?)") }
            done += n
        }
        written += Int64(bytes.count)
    }
}
