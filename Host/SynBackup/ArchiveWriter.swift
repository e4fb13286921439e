import CSynSys
import Foundation
import SynSystem
import Synchronization
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
    /// Bytes written to the archive so far, and how far writing back to disk has been started.
    public private(set) var written: Int64 = 0
    private var flushedTo: Int64 = 0

    private var done = false
    /// A records entry is being written: nothing else may be until it closes.
    private var entryOpen = false
    /// Why the archive can no longer be written, once a write failed: the stream has moved past bytes that did not
    /// reach the file, so nothing more may be added, and `finish` refuses.
    public private(set) var broken: String?

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
        try checkPath(path)
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw BackupError(.io, "cannot open \(source): errno \(errno)") }
        defer { close(input) }
        var st = stat()
        guard fstat(input, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw BackupError(.io, "\(source) is not a regular file") }
        let size = Int64(st.st_size)
        let fileRecord: [UInt8]
        do { fileRecord = Array(try JSONEncoder().encode(ArchivedFile(path: path, size: size, blake2b: ""))) } catch {
            throw BackupError(.format, "\(error)")
        }
        try record(.file, fileRecord)
        // From here a failure leaves a file shorter than its record says: the archive cannot go on.
        let hash = Blake2bStream()
        do throws(BackupError) { try pour(input, source: source, size: size, progress: progress, into: hash) } catch {
            broken = broken ?? error.message
            throw error
        }
        files.append(ArchivedFile(path: path, size: size, blake2b: Hex.encode(hash.finish())))
    }

    /// Streams `size` bytes of `input` into data records, hashing them into `hash`.
    private func pour(_ input: Int32, source: String, size: Int64, progress: (Int64) -> Void, into hash: Blake2bStream) throws(BackupError) {
        // Two threads share the work, on the machine's two cores: a reader fills plaintext buffers (the type byte,
        // then the file's bytes) and hashes them; this thread encrypts each into the record buffer (the
        // ciphertext's length, then the ciphertext) and writes it. Three buffers go round between them.
        let chunk = BackupArchive.chunkBytes
        let ring = ChunkRing(count: 3, bytes: chunk + 1)
        defer { ring.release() }
        let reader = ChunkReader(fd: input, source: source, size: size, ring: ring, hash: hash)
        guard OSThread.start(name: "syn-backup-read", { reader.run() }) else {
            throw BackupError(.io, "the system gave no thread to read \(source) (RLIMIT_NPROC or memory)")
        }
        defer { ring.cancel(); reader.finished.wait() }
        var record = Self.sealBuffer()
        var left = size
        var index = 0
        while left > 0 {
            let want = Int(min(left, Int64(chunk)))
            ring.filled.wait()
            if let failure = reader.failure.withLock({ $0 }) { throw failure }
            let sealed = seal(UnsafeRawBufferPointer(start: ring.buffer(index), count: want + 1), into: &record)
            ring.free.signal()
            index += 1
            try put(record, count: sealed)
            left -= Int64(want)
            progress(size - left)
        }
        reader.finished.wait()
        reader.finished.signal()
        if let failure = reader.failure.withLock({ $0 }) { throw failure }
    }

    /// Starts an entry at `path` whose bytes are a copy stream's records (`BackupReplay` checked them against
    /// `limit`), appended as they arrive; nothing else is added until it is closed.
    public func beginRecords(as path: String, limit: UInt64) throws(BackupError) -> RecordsEntry {
        try checkPath(path)
        guard limit > 0, limit <= UInt64(BackupArchive.maxRecordsLimit) else {
            throw BackupError(.format, "'\(path)' cannot be archived: its limit, \(limit) bytes, is not within 1 B to \(BackupArchive.maxRecordsLimit) bytes")
        }
        let fileRecord: [UInt8]
        do { fileRecord = Array(try JSONEncoder().encode(ArchivedFile(path: path, size: 0, blake2b: "", kind: .records, limit: Int64(limit)))) } catch {
            throw BackupError(.format, "\(error)")
        }
        try record(.file, fileRecord)
        entryOpen = true
        return RecordsEntry(writer: self, path: path, limit: Int64(limit))
    }

    /// A records entry being written (`beginRecords`): fed by one thread at a time (the copy's, then the one that
    /// closes it once that has stopped).
    public final class RecordsEntry: @unchecked Sendable {
        private let writer: ArchiveWriter
        public let path: String
        private let limit: Int64
        private let hash = Blake2bStream()
        /// The plaintext of the next data record: its type byte, then up to a chunk of the stream.
        private let plain: UnsafeMutableRawPointer
        private var filled = 0
        private var sealed = ArchiveWriter.sealBuffer()
        /// Stream bytes appended.
        public private(set) var size: Int64 = 0
        private var closed = false

        fileprivate init(writer: ArchiveWriter, path: String, limit: Int64) {
            self.writer = writer
            self.path = path
            self.limit = limit
            plain = UnsafeMutableRawPointer.allocate(byteCount: BackupArchive.chunkBytes + 1, alignment: 64)
            plain.storeBytes(of: BackupArchive.Record.data.rawValue, as: UInt8.self)
        }

        deinit { plain.deallocate() }

        /// Appends stream bytes: a data record is sealed and written each time a chunk fills.
        public func append(_ bytes: UnsafeRawBufferPointer) throws(BackupError) {
            if let broken = writer.broken { throw BackupError(.io, broken) }
            guard !closed, let base = bytes.baseAddress else { return }
            hash.update(bytes)
            size += Int64(bytes.count)
            var at = 0
            while at < bytes.count {
                let n = min(bytes.count - at, BackupArchive.chunkBytes - filled)
                (plain + 1 + filled).copyMemory(from: base + at, byteCount: n)
                filled += n
                at += n
                if filled == BackupArchive.chunkBytes { try flush() }
            }
        }

        /// Ends the entry: `ok`, it is in the manifest; else (the copy failed) the reader drops what it holds.
        public func close(ok: Bool) throws(BackupError) {
            guard !closed else { return }
            closed = true
            if let broken = writer.broken { throw BackupError(.io, broken) }
            try flush()
            try writer.record(.close, [ok ? 1 : 0])
            // Only a written close lets the archive go on.
            writer.entryOpen = false
            if ok { writer.files.append(ArchivedFile(path: path, size: size, blake2b: Hex.encode(hash.finish()), kind: .records, limit: limit)) }
        }

        private func flush() throws(BackupError) {
            guard filled > 0 else { return }
            let count = writer.seal(UnsafeRawBufferPointer(start: plain, count: filled + 1), into: &sealed)
            filled = 0
            try writer.put(sealed, count: count)
        }
    }

    /// The files added so far, with their sizes and hashes.
    public var archived: [ArchivedFile] { files }

    /// Closes the stream with the manifest, syncs the archive and renames it into place. Returns what it holds.
    public func finish() throws(BackupError) -> [ArchivedFile] {
        if let broken { throw BackupError(.io, broken) }
        guard !entryOpen else { throw BackupError(.format, "a records entry is still open") }
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

    private func checkPath(_ path: String) throws(BackupError) {
        if let broken { throw BackupError(.io, broken) }
        guard !entryOpen else { throw BackupError(.format, "'\(path)' cannot be archived while a records entry is open") }
        guard !path.isEmpty, path.utf8.count <= BackupArchive.maxPathBytes, !path.hasPrefix("/"),
              !path.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
            throw BackupError(.format, "'\(path)' cannot be archived: paths are relative and plain")
        }
    }

    /// A buffer a sealed data record fits in: its length, then its ciphertext.
    static func sealBuffer() -> [UInt8] { [UInt8](repeating: 0, count: 4 + BackupArchive.chunkBytes + 1 + SecretStream.overhead) }

    /// Encrypts `plain` (a type byte and its data) into `record` as a length and ciphertext; returns the bytes.
    private func seal(_ plain: UnsafeRawBufferPointer, into record: inout [UInt8]) -> Int {
        let cipherLength = plain.count + SecretStream.overhead
        record.withUnsafeMutableBytes { r in
            r.storeBytes(of: UInt32(cipherLength).littleEndian, as: UInt32.self)
            stream.push(plain, into: UnsafeMutableRawBufferPointer(rebasing: r[4..<(4 + cipherLength)]))
        }
        return 4 + cipherLength
    }

    private func record(_ type: BackupArchive.Record, _ body: [UInt8], additional: [UInt8] = [], final: Bool = false) throws(BackupError) {
        if let broken { throw BackupError(.io, broken) }
        let ciphertext = stream.push([type.rawValue] + body, additional: additional, final: final)
        var length = UInt32(ciphertext.count).littleEndian
        try put(withUnsafeBytes(of: &length) { Array($0) } + ciphertext)
    }

    private func put(_ bytes: [UInt8], count: Int? = nil) throws(BackupError) {
        let total = count ?? bytes.count
        var done = 0
        while done < total {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, total - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let failure = "cannot write \(temporary): errno \(errno) (is the disk full?)"
                broken = failure
                throw BackupError(.io, failure)
            }
            done += n
        }
        written += Int64(total)
        // Start writing back what is written, every 32 MiB, so the disk works while the CPU encrypts and the final
        // fsync has little left to do.
        if written - flushedTo >= 32 << 20 {
            _ = csyn_start_writeback(fd, flushedTo, written - flushedTo)
            flushedTo = written
        }
    }
}

/// Plaintext buffers passed between a file's reader thread and the encrypting thread: `free` counts buffers the
/// reader may fill, `filled` the ones ready to encrypt, taken in order.
final class ChunkRing: @unchecked Sendable {
    let free: DispatchSemaphore
    let filled = DispatchSemaphore(value: 0)
    private let buffers: [UnsafeMutableRawPointer]
    let cancelled = Atomic<Bool>(false)

    init(count: Int, bytes: Int) {
        // Made at 0 and raised: a semaphore released below its initial value aborts the process.
        free = DispatchSemaphore(value: 0)
        for _ in 0..<count { free.signal() }
        buffers = (0..<count).map { _ in
            let b = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            b.storeBytes(of: BackupArchive.Record.data.rawValue, as: UInt8.self)
            return b
        }
    }

    /// The `index`th buffer handed round (indexes go on counting; buffers repeat).
    func buffer(_ index: Int) -> UnsafeMutableRawPointer { buffers[index % buffers.count] }

    /// Tells the reader to stop (it may be waiting for a free buffer).
    func cancel() {
        cancelled.store(true, ordering: .relaxed)
        for _ in buffers { free.signal() }
    }

    func release() { for b in buffers { b.deallocate() } }
}

/// Reads a file into a `ChunkRing`, after each type byte, hashing what it reads; runs on a thread of its own.
final class ChunkReader: @unchecked Sendable {
    let fd: Int32
    let source: String
    let size: Int64
    let ring: ChunkRing
    let hash: Blake2bStream
    let failure = Mutex<BackupError?>(nil)
    /// Signalled once when the reader has stopped.
    let finished = DispatchSemaphore(value: 0)

    init(fd: Int32, source: String, size: Int64, ring: ChunkRing, hash: Blake2bStream) {
        self.fd = fd
        self.source = source
        self.size = size
        self.ring = ring
        self.hash = hash
    }

    func run() {
        defer { finished.signal() }
        var left = size
        var index = 0
        while left > 0 {
            ring.free.wait()
            if ring.cancelled.load(ordering: .relaxed) { return }
            let want = Int(min(left, Int64(BackupArchive.chunkBytes)))
            let base = ring.buffer(index) + 1
            var got = 0
            while got < want {
                let n = read(fd, base + got, want - got)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    failure.withLock { $0 = BackupError(.io, n == 0 ? "\(source) shrank while it was archived" : "cannot read \(source): errno \(errno)") }
                    ring.filled.signal()
                    return
                }
                got += n
            }
            hash.update(UnsafeRawBufferPointer(start: base, count: want))
            index += 1
            left -= Int64(want)
            ring.filled.signal()
        }
    }
}
