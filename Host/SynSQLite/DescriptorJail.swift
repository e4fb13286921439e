import CSynSQLite
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Confines SQLite's unix VFS in this process to a few files the process already holds open: opening one of their
/// names hands SQLite a duplicate of its descriptor, and every other path-based call fails. No file is created,
/// opened by path, renamed, linked or unlinked, so a sandbox needs no path-based syscall for storage.
///
/// It uses the VFS's documented system-call overrides (`xSetSystemCall`): `open`, `access`, `stat`, `lstat`,
/// `fstat` (as the raw `fstat` syscall), `unlink`, `mkdir`, `rmdir`, `readlink`, `getcwd`, `openDirectory`,
/// `fchmod` and `fchown`. The overrides are process-wide: install the jail only in a process whose every SQLite
/// connection should be confined (the sandboxed worker), once, before the first connection is opened.
/// The corresponding C function is `sqlite3_vfs.xSetSystemCall`.
public enum DescriptorJail {
    /// The jailed names and their descriptors. Written once by `install`, before any connection exists.
    nonisolated(unsafe) private static var files: [(path: [UInt8], fd: Int32)] = []
    /// The names whose descriptors are streams (a socket to the host), not files.
    nonisolated(unsafe) private static var streamPaths: [[UInt8]] = []
    /// The descriptor SQLite holds open on a stream name, or -1 (one at a time).
    static let streamFD = Atomic<Int32>(-1)
    /// Bytes written to the stream since `resetStreamed`: records and their headers.
    static let streamed = Atomic<Int64>(0)
    /// The size of the file the stream stands for: the end of its furthest write, or its last truncation.
    static let streamSize = Atomic<Int64>(0)

    /// Bytes written to the stream since `resetStreamed`.
    public static func streamedBytes() -> Int64 { streamed.load(ordering: .relaxed) }

    /// Starts counting the stream's bytes again (a new backup).
    public static func resetStreamed() { streamed.store(0, ordering: .relaxed) }

    /// Confines SQLite to `files` (absolute path → open read-write descriptor). A name in `streams` maps to a
    /// stream instead (`BackupStream`): what SQLite writes there leaves as records of offset and bytes, reads see
    /// an empty file, a truncation is a record. The host writes the file on its side: its pages are the host's, so
    /// a worker's small memory cgroup never throttles them to the disk.
    public static func install(_ files: [String: Int32], streams: [String: Int32] = [:]) throws(SQLiteError) {
        Self.files = files.merging(streams) { a, _ in a }.map { (Array($0.key.utf8), $0.value) }
        Self.streamPaths = streams.keys.map { Array($0.utf8) }
        guard let vfs = sqlite3_vfs_find(nil), let set = vfs.pointee.xSetSystemCall else {
            throw SQLiteError(extendedCode: SQLITE_ERROR, message: "the default VFS cannot override system calls")
        }
        func override(_ name: String, _ function: sqlite3_syscall_ptr) throws(SQLiteError) {
            let rc = set(vfs, name, function)
            guard rc == SQLITE_OK else {
                throw SQLiteError(extendedCode: rc, message: "cannot override the VFS system call \(name)")
            }
        }
        typealias Open = @convention(c) (UnsafePointer<CChar>?, Int32, Int32) -> Int32
        typealias Access = @convention(c) (UnsafePointer<CChar>?, Int32) -> Int32
        typealias Stat = @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<stat>?) -> Int32
        typealias FStat = @convention(c) (Int32, UnsafeMutablePointer<stat>?) -> Int32
        typealias Path = @convention(c) (UnsafePointer<CChar>?) -> Int32
        typealias PathMode = @convention(c) (UnsafePointer<CChar>?, mode_t) -> Int32
        typealias ReadLink = @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, Int) -> Int
        typealias GetCwd = @convention(c) (UnsafeMutablePointer<CChar>?, Int) -> UnsafeMutablePointer<CChar>?
        typealias OpenDirectory = @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<Int32>?) -> Int32
        typealias FChmod = @convention(c) (Int32, mode_t) -> Int32
        typealias FChown = @convention(c) (Int32, uid_t, gid_t) -> Int32

        let open: Open = { path, _, _ in
            guard let fd = DescriptorJail.descriptor(path) else { return DescriptorJail.fail(EACCES) }
            let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
            if copy >= 0 && DescriptorJail.isStream(path) {
                guard DescriptorJail.streamFD.compareExchange(expected: -1, desired: copy, ordering: .relaxed).exchanged else {
                    Glibc.close(copy)
                    return DescriptorJail.fail(EBUSY)
                }
                DescriptorJail.streamSize.store(0, ordering: .relaxed)
            }
            return copy
        }
        let access: Access = { path, _ in DescriptorJail.descriptor(path) == nil ? DescriptorJail.fail(ENOENT) : 0 }
        let stat: Stat = { path, out in
            guard let fd = DescriptorJail.descriptor(path) else { return DescriptorJail.fail(ENOENT) }
            return csyn_sqlite3_raw_fstat(fd, out)
        }
        let fstat: FStat = { fd, out in
            let rc = csyn_sqlite3_raw_fstat(fd, out)
            // A stream's size is what was written to it (SQLite decides from it whether to truncate or pad).
            if rc == 0, fd == DescriptorJail.streamFD.load(ordering: .relaxed) { out?.pointee.st_size = off_t(DescriptorJail.streamSize.load(ordering: .relaxed)) }
            return rc
        }
        let refuse: Path = { _ in DescriptorJail.fail(EACCES) }
        let refuseMode: PathMode = { _, _ in DescriptorJail.fail(EACCES) }
        let readlink: ReadLink = { _, _, _ in Int(DescriptorJail.fail(EINVAL)) }
        let getcwd: GetCwd = { buffer, size in
            guard let buffer, size >= 2 else { return nil }
            buffer[0] = 0x2F
            buffer[1] = 0
            return buffer
        }
        let openDirectory: OpenDirectory = { _, out in
            out?.pointee = -1
            return SQLITE_CANTOPEN
        }
        let fchmod: FChmod = { _, _ in 0 }
        let fchown: FChown = { _, _, _ in 0 }
        try override("open", unsafeBitCast(open, to: sqlite3_syscall_ptr.self))
        try override("access", unsafeBitCast(access, to: sqlite3_syscall_ptr.self))
        try override("stat", unsafeBitCast(stat, to: sqlite3_syscall_ptr.self))
        try override("lstat", unsafeBitCast(stat, to: sqlite3_syscall_ptr.self))
        try override("fstat", unsafeBitCast(fstat, to: sqlite3_syscall_ptr.self))
        try override("unlink", unsafeBitCast(refuse, to: sqlite3_syscall_ptr.self))
        try override("rmdir", unsafeBitCast(refuse, to: sqlite3_syscall_ptr.self))
        try override("mkdir", unsafeBitCast(refuseMode, to: sqlite3_syscall_ptr.self))
        try override("readlink", unsafeBitCast(readlink, to: sqlite3_syscall_ptr.self))
        try override("getcwd", unsafeBitCast(getcwd, to: sqlite3_syscall_ptr.self))
        try override("openDirectory", unsafeBitCast(openDirectory, to: sqlite3_syscall_ptr.self))
        try override("fchmod", unsafeBitCast(fchmod, to: sqlite3_syscall_ptr.self))
        try override("fchown", unsafeBitCast(fchown, to: sqlite3_syscall_ptr.self))
        guard !streams.isEmpty else { return }
        typealias PRead = @convention(c) (Int32, UnsafeMutableRawPointer?, Int, off_t) -> Int
        typealias PWrite = @convention(c) (Int32, UnsafeRawPointer?, Int, off_t) -> Int
        typealias FTruncate = @convention(c) (Int32, off_t) -> Int32
        typealias Close = @convention(c) (Int32) -> Int32
        let pread: PRead = { fd, buffer, count, offset in
            fd == DescriptorJail.streamFD.load(ordering: .relaxed) ? 0 : Glibc.pread(fd, buffer, count, offset)
        }
        let pwrite: PWrite = { fd, buffer, count, offset in
            guard fd == DescriptorJail.streamFD.load(ordering: .relaxed) else { return Glibc.pwrite(fd, buffer, count, offset) }
            guard BackupStream.send(fd, offset: UInt64(offset), bytes: UnsafeRawBufferPointer(start: buffer, count: count)) else { return Int(DescriptorJail.fail(EIO)) }
            let end = Int64(offset) + Int64(count)
            if end > DescriptorJail.streamSize.load(ordering: .relaxed) { DescriptorJail.streamSize.store(end, ordering: .relaxed) }
            return count
        }
        let ftruncate: FTruncate = { fd, size in
            guard fd == DescriptorJail.streamFD.load(ordering: .relaxed) else { return Glibc.ftruncate(fd, size) }
            guard BackupStream.send(fd, offset: UInt64(size), bytes: nil) else { return DescriptorJail.fail(EIO) }
            DescriptorJail.streamSize.store(Int64(size), ordering: .relaxed)
            return 0
        }
        let close: Close = { fd in
            _ = DescriptorJail.streamFD.compareExchange(expected: fd, desired: -1, ordering: .relaxed)
            return Glibc.close(fd)
        }
        for name in ["pread", "pread64"] { try override(name, unsafeBitCast(pread, to: sqlite3_syscall_ptr.self)) }
        for name in ["pwrite", "pwrite64"] { try override(name, unsafeBitCast(pwrite, to: sqlite3_syscall_ptr.self)) }
        try override("ftruncate", unsafeBitCast(ftruncate, to: sqlite3_syscall_ptr.self))
        try override("close", unsafeBitCast(close, to: sqlite3_syscall_ptr.self))
    }

    private static func isStream(_ path: UnsafePointer<CChar>?) -> Bool {
        guard let path else { return false }
        let length = strlen(path)
        return streamPaths.contains { p in
            p.count == length && p.withUnsafeBytes { b in b.baseAddress.map { memcmp($0, path, length) == 0 } ?? (length == 0) }
        }
    }

    /// The descriptor jailed under `path`, if any.
    private static func descriptor(_ path: UnsafePointer<CChar>?) -> Int32? {
        guard let path else { return nil }
        let length = strlen(path)
        for file in files where file.path.count == length {
            let same = file.path.withUnsafeBytes { bytes in
                guard let base = bytes.baseAddress else { return length == 0 }
                return memcmp(base, path, length) == 0
            }
            if same { return file.fd }
        }
        return nil
    }

    private static func fail(_ code: Int32) -> Int32 {
        errno = code
        return -1
    }
}
