import Foundation
import SynSodium
import SynSQLite
#if canImport(Glibc)
import Glibc
#endif

/// Reads a backup archive (see `BackupArchive`) as hostile input: every length is bounded before it is read, every
/// record authenticates before it is used, every path stays inside the target, and the files must match the
/// closing manifest exactly. Nothing is kept from an archive that fails anywhere.
public enum ArchiveReader {
    /// What a read found.
    public struct Contents: Sendable {
        public let info: ArchiveInfo
        public let files: [ArchivedFile]
        /// The key's fingerprint, from the clear header.
        public let keyID: String
    }

    /// Checks the whole archive at `path` with `key`; with `into`, writes its files under that directory (which
    /// must not exist: it is made here, and removed again when anything fails). `progress` gets archive bytes read.
    public static func read(path: String, key: BackupKey, into target: String? = nil,
                            progress: (Int64, Int64) -> Void = { _, _ in }) throws(BackupError) -> Contents {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BackupError(.io, "cannot open \(path): errno \(errno)") }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw BackupError(.io, "\(path) is not a regular file") }
        let total = Int64(st.st_size)
        var offset: Int64 = 0
        func take(_ count: Int) throws(BackupError) -> [UInt8] {
            guard count >= 0, offset + Int64(count) <= total else {
                throw BackupError(.damaged, "\(path) ends at byte \(total), inside a record that needs \(count) bytes from \(offset): the archive is truncated")
            }
            var out = [UInt8](repeating: 0, count: count)
            var got = 0
            while got < count {
                let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, count - got, off_t(offset) + off_t(got)) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { throw BackupError(.io, "cannot read \(path): errno \(errno)") }
                got += n
            }
            offset += Int64(count)
            return out
        }
        func u32(_ bytes: [UInt8]) -> Int { Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24 }

        guard total >= Int64(BackupArchive.magic.count + 4), try take(BackupArchive.magic.count) == BackupArchive.magic else {
            throw BackupError(.format, "\(path) is not a Syneroym backup archive (it does not start with \"SYNBAK1\")")
        }
        let headerLength = u32(try take(4))
        guard headerLength > 0, headerLength <= BackupArchive.maxHeaderBytes else {
            throw BackupError(.format, "\(path): the header is \(headerLength) bytes; at most \(BackupArchive.maxHeaderBytes)")
        }
        let headerBytes = try take(headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any],
              let format = header["format"] as? Int, let kdf = header["kdf"] as? String else {
            throw BackupError(.format, "\(path): the header is not that of a Syneroym backup archive")
        }
        guard BackupArchive.readable.contains(format) else {
            throw BackupError(.format, "\(path) is a format-\(format) archive; this node reads formats \(BackupArchive.readable.lowerBound) to \(BackupArchive.readable.upperBound) (restore it with a newer syneroym)")
        }
        let keyID = header["key_id"] as? String ?? "?"
        let salt = (header["salt"] as? String).flatMap(Base64URL.decode) ?? []
        // The costs come from the clear header: no more than this node's writer uses, so no archive can make a restore
        // spend a gigabyte of memory.
        guard (header["ops_limit"] as? Int ?? 0) <= Int(SecretKey.backupOpsLimit), (header["mem_limit"] as? Int ?? 0) <= SecretKey.backupMemLimit else {
            throw BackupError(.format, "\(path) asks for Argon2id costs above this node's (\(SecretKey.backupOpsLimit) passes, \(SecretKey.backupMemLimit >> 20) MiB)")
        }
        let secret = try key.resolve(kdf: kdf, salt: salt, opsLimit: UInt64(header["ops_limit"] as? Int ?? 0),
                                     memLimit: header["mem_limit"] as? Int ?? 0)
        var stream: SecretStream.Reader
        do { stream = try SecretStream.Reader(key: secret, header: try take(SecretStream.headerLength)) } catch let e as BackupError {
            throw e
        } catch { throw BackupError(.format, "\(path): \(error)") }

        func next(additional: [UInt8] = []) throws(BackupError) -> (BackupArchive.Record, [UInt8]) {
            let at = offset
            let length = u32(try take(4))
            guard length >= SecretStream.overhead + 1, length <= BackupArchive.maxRecordBytes + SecretStream.overhead + 1 else {
                throw BackupError(.damaged, "\(path): a record at byte \(at) claims \(length) bytes; the archive is damaged or altered")
            }
            let ciphertext = try take(length)
            let plain: [UInt8]
            do { plain = try stream.pull(ciphertext, additional: additional) } catch {
                if at == Int64(BackupArchive.magic.count + 4 + headerLength + SecretStream.headerLength) {
                    throw BackupError(.wrongKey, "the key does not open \(path) (it was made with key \(keyID), this is key \(secret.fingerprint)); give the key or passphrase it was made with")
                }
                throw BackupError(.damaged, "\(path): the record at byte \(at) does not authenticate; the archive was altered or damaged there")
            }
            guard let type = BackupArchive.Record(rawValue: plain[0]) else {
                throw BackupError(.damaged, "\(path): unknown record type \(plain[0]) at byte \(at)")
            }
            progress(offset, total)
            return (type, Array(plain.dropFirst()))
        }

        let (firstType, firstBody) = try next(additional: headerBytes)
        guard firstType == .begin, let info = try? JSONDecoder().decode(ArchiveInfo.self, from: Data(firstBody)) else {
            throw BackupError(.damaged, "\(path) does not begin with its description")
        }
        if let target {
            guard mkdir(target, 0o700) == 0 else { throw BackupError(.io, "cannot create \(target): errno \(errno) (it must not exist)") }
        }
        var kept = false
        defer { if let target, !kept { try? FileManager.default.removeItem(atPath: target) } }

        var read: [ArchivedFile] = []
        var current: Entry?
        defer { current?.abandon() }
        while true {
            let (type, body) = try next()
            switch type {
            case .begin:
                throw BackupError(.damaged, "\(path): a second beginning at byte \(offset)")
            case .file:
                if let c = current {
                    read.append(try c.end(archive: path))
                    current = nil
                }
                guard let file = try? JSONDecoder().decode(ArchivedFile.self, from: Data(body)), file.size >= 0,
                      pathProblem(file.path) == nil,
                      file.kind == nil || (format >= 2 && (1...BackupArchive.maxRecordsLimit).contains(file.limit ?? 0)) else {
                    throw BackupError(.damaged, "\(path): a file record at byte \(offset) names no plain relative path, or a kind of entry this node does not know")
                }
                guard !read.contains(where: { $0.path == file.path }) else { throw BackupError(.damaged, "\(path): \(file.path) appears twice") }
                var out: Int32 = -1
                var destination = ""
                if let target {
                    destination = target + "/" + file.path
                    do {
                        try FileManager.default.createDirectory(atPath: (destination as NSString).deletingLastPathComponent,
                                                                withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                    } catch { throw BackupError(.io, "cannot create the directory of \(destination): \(error.localizedDescription)") }
                    out = open(destination, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                    guard out >= 0 else { throw BackupError(.io, "cannot create \(destination): errno \(errno)") }
                }
                current = Entry(file: file, fd: out, destination: destination)
            case .data:
                guard let c = current else { throw BackupError(.damaged, "\(path): data at byte \(offset) belongs to no file") }
                try c.take(body, archive: path, at: offset)
            case .close:
                guard let c = current, c.file.kind == .records, body.count == 1, body[0] <= 1 else {
                    throw BackupError(.damaged, "\(path): a close at byte \(offset) ends no records entry")
                }
                current = nil
                c.closed = true
                if body[0] == 1 { read.append(try c.end(archive: path)) } else { c.abandon() }
            case .manifest:
                if let c = current {
                    read.append(try c.end(archive: path))
                    current = nil
                }
                guard stream.finished else { throw BackupError(.damaged, "\(path): the manifest is not the last record") }
                guard offset == total else { throw BackupError(.damaged, "\(path) has \(total - offset) bytes after its end") }
                guard let listed = try? JSONDecoder().decode([ArchivedFile].self, from: Data(body)) else {
                    throw BackupError(.damaged, "\(path): the manifest does not parse")
                }
                guard listed == read else {
                    let bad = zip(listed, read).first { $0 != $1 }.map { "\($0.0.path)" } ?? "the file count (\(listed.count) listed, \(read.count) found)"
                    throw BackupError(.damaged, "\(path): \(bad) does not match the manifest's size and hash")
                }
                kept = true
                return Contents(info: info, files: read, keyID: keyID)
            }
        }
    }

    /// One entry being read: its bytes hashed and written out as they are, or, for a records entry, checked and
    /// replayed into its file (`BackupReplay`, by the rules the node checked them by when it made the archive).
    final class Entry {
        let file: ArchivedFile
        let fd: Int32
        let destination: String
        let hash = Blake2bStream()
        var size: Int64 = 0
        /// A records entry's replay, and the partial record at the end of what has come.
        var replay: BackupReplay?
        var pending: [UInt8] = []
        /// A records entry's `close` came (it must, before anything else).
        var closed = false
        /// Its file is closed (kept or dropped).
        var finished = false

        init(file: ArchivedFile, fd: Int32, destination: String) {
            self.file = file
            self.fd = fd
            self.destination = destination
            // A records entry's file reaches no further than the limit the node checked its records against.
            if file.kind == .records { replay = BackupReplay(limit: UInt64(file.limit ?? 0)) }
        }

        deinit { if !finished, fd >= 0 { Glibc.close(fd) } }

        func take(_ body: [UInt8], archive: String, at offset: Int64) throws(BackupError) {
            size += Int64(body.count)
            hash.update(body)
            if var replay {
                pending += body
                let result = pending.withUnsafeBytes { replay.take($0, applyingTo: fd >= 0 ? fd : nil) }
                self.replay = replay
                switch result {
                case .success(let n): pending.removeFirst(n)
                case .failure(let error) where error.code == .io: throw BackupError(.io, "cannot write \(file.path): \(error.message)")
                case .failure(let error): throw BackupError(.damaged, "\(archive): \(file.path) is not a database copy at byte \(offset): \(error.message)")
                }
                return
            }
            guard size <= file.size else { throw BackupError(.damaged, "\(archive): data at byte \(offset) overruns \(file.path)") }
            guard fd >= 0 else { return }
            var done = 0
            while done < body.count {
                let n = body.withUnsafeBytes { write(fd, $0.baseAddress! + done, body.count - done) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { throw BackupError(.io, "cannot write \(file.path) (is the disk full?): errno \(errno)") }
                done += n
            }
        }

        /// The entry, whole: synced, and as the manifest must list it.
        func end(archive: String) throws(BackupError) -> ArchivedFile {
            if replay != nil {
                guard closed else { throw BackupError(.damaged, "\(archive): \(file.path) has no close record") }
                guard pending.isEmpty else { throw BackupError(.damaged, "\(archive): \(file.path) ends inside a record") }
                if fd >= 0 { BackupReplay.trimToHeader(fd) }
            } else {
                guard size == file.size else { throw BackupError(.damaged, "\(archive): \(file.path) is shorter than its \(file.size) bytes") }
            }
            finished = true
            if fd >= 0 {
                let synced = fsync(fd) == 0
                Glibc.close(fd)
                guard synced else { throw BackupError(.io, "cannot sync \(file.path): errno \(errno)") }
            }
            return ArchivedFile(path: file.path, size: size, blake2b: Hex.encode(hash.finish()), kind: file.kind, limit: file.limit)
        }

        /// Drops the entry (a copy that failed while the archive was made), and its file.
        func abandon() {
            guard !finished else { return }
            finished = true
            if fd >= 0 {
                Glibc.close(fd)
                unlink(destination)
            }
        }
    }

    /// Nil for a relative path of plain names (no `.`, `..`, empty parts or control characters), else why not.
    static func pathProblem(_ path: String) -> String? {
        guard !path.isEmpty, path.utf8.count <= BackupArchive.maxPathBytes, !path.hasPrefix("/") else { return "not relative" }
        for part in path.split(separator: "/", omittingEmptySubsequences: false) {
            if part.isEmpty || part == "." || part == ".." { return "has an empty, . or .. part" }
            if part.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return "has a control character" }
        }
        return nil
    }
}
