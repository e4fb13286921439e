#if canImport(Glibc)
import Glibc
#endif

/// Checks a stream of `BackupStream` records, and with a file, applies them to it: the node does it while an app's
/// worker streams its backup copy (the app wrote the records: they are hostile), and an archive's reader does it
/// again to rebuild the copy. Both apply the same rules, so no archive holds a stream its reader would refuse:
/// - a record is whole, with the magic, and writes 1 B to `maxRecord`;
/// - nothing reaches past `limit` (the node's: the app's quota and a margin; the archive carries it for its
///   reader), and all the writes together stay within a byte and a truncation budget.
///
/// Writes may leave holes: SQLite writes a copy's first page last when its cache spills, and never writes the
/// page holding the lock byte (at 1 GiB).
public struct BackupReplay: Sendable {
    /// The largest record: a page is at most 64 KiB; SQLite writes one at a time.
    public static let maxRecord = 1 << 20

    /// The copy's largest size.
    public let limit: UInt64
    /// Stream bytes taken so far (headers and payloads).
    public private(set) var taken: Int64 = 0
    private var budget: (bytes: UInt64, truncations: Int)

    /// `budgetBytes` and `truncations` bound what the records may do in all (a stream the app writes without end
    /// does not make the node write without end).
    public init(limit: UInt64, budgetBytes: UInt64 = .max, truncations: Int = .max) {
        self.limit = limit
        budget = (budgetBytes, truncations)
    }

    /// Checks the whole records at the start of `bytes`, and applies them to `fd` when one is given; returns the
    /// bytes they take (a partial record at the end is left for the next call), or why the stream is not a copy's.
    public mutating func take(_ bytes: UnsafeRawBufferPointer, applyingTo fd: Int32? = nil) -> Result<Int, BackupReplayError> {
        var at = 0
        defer { taken += Int64(at) }
        while bytes.count - at >= BackupStream.headerSize {
            let magic = Self.u32(bytes, at), count = Self.u32(bytes, at + 4), offset = Self.u64(bytes, at + 8)
            guard magic == BackupStream.magic else { return .failure(.init(.malformed, "its copy stream holds something that is not a record")) }
            if count == BackupStream.truncate {
                guard offset <= limit else { return .failure(.init(.limit, "its copy would be \(offset) bytes, past \(limit)")) }
                guard budget.truncations > 0 else { return .failure(.init(.limit, "its copy stream truncates the copy again and again")) }
                if let fd { guard ftruncate(fd, off_t(offset)) == 0 else { return .failure(.init(.io, "cannot truncate the copy: errno \(errno)")) } }
                budget.truncations -= 1
                at += BackupStream.headerSize
                continue
            }
            guard count > 0, count <= Self.maxRecord, offset <= limit, offset + UInt64(count) <= limit else {
                return .failure(.init(.limit, "its copy stream writes \(count) bytes at \(offset), past the \(limit) a copy of it may hold"))
            }
            let end = at + BackupStream.headerSize + Int(count)
            // A record whose bytes have not all arrived waits for the next call (and is counted then).
            guard bytes.count >= end else { break }
            guard budget.bytes >= UInt64(count) else { return .failure(.init(.limit, "its copy stream writes more than its budget (\(limit) bytes, three times)")) }
            if let fd, let base = bytes.baseAddress {
                let written = pwrite(fd, base + at + BackupStream.headerSize, Int(count), off_t(offset))
                guard written == Int(count) else { return .failure(.init(.io, "cannot write the copy: errno \(errno) (is the disk full?)")) }
            }
            budget.bytes -= UInt64(count)
            at = end
        }
        return .success(at)
    }

    /// Truncates a database copy to its header's page count times its page size, when both are sane and the file is
    /// longer (what a shrinking database leaves behind the copy's last page).
    public static func trimToHeader(_ fd: Int32) {
        var header = [UInt8](repeating: 0, count: 100)
        guard pread(fd, &header, 100, 0) == 100, header.starts(with: Array("SQLite format 3\0".utf8)) else { return }
        let raw = Int(header[16]) << 8 | Int(header[17])
        let pageSize = raw == 1 ? 65_536 : raw
        let pages = Int(header[28]) << 24 | Int(header[29]) << 16 | Int(header[30]) << 8 | Int(header[31])
        guard pageSize >= 512, pageSize & (pageSize - 1) == 0, pages > 0 else { return }
        var st = stat()
        if fstat(fd, &st) == 0, Int64(st.st_size) > Int64(pages) * Int64(pageSize) { _ = ftruncate(fd, off_t(pages * pageSize)) }
    }

    private static func u32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }

    private static func u64(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        UInt64(u32(b, at)) | UInt64(u32(b, at + 4)) << 32
    }
}

/// Why a copy stream was refused: it is not a copy's (`malformed`), it reaches past its limit or budget
/// (`limit`), or the copy could not be written (`io`).
public struct BackupReplayError: Error, Sendable {
    public enum Code: String, Sendable { case malformed, limit, io }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
