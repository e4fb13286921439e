#if canImport(Glibc)
import Glibc
#endif

/// Checks a stream of `BackupStream` records, and with a file, applies them to it: the node does it while an app's
/// worker streams its backup copy (the app wrote the records: they are hostile), and an archive's reader does it
/// again to rebuild the copy. Both apply the same rules, so no archive holds a stream its reader would refuse, and
/// no archive rebuilds a file larger than the archive itself:
/// - a record is whole, with the magic, and writes 1 B to `maxRecord`;
/// - nothing reaches past `limit` (the node's: the app's quota and a margin; the archive carries it for its
///   reader);
/// - nothing reaches more than `slack` past the stream's own bytes so far: SQLite leaves small holes in a copy
///   (its first page is written last when its cache spills, the page holding the lock byte at 1 GiB never), but a
///   copy is never much larger than the stream that made it;
/// - the whole stream, headers included, is at most three times `limit`, with at most 64 truncations (a stream
///   the app writes without end does not make the node write without end).
public struct BackupReplay: Sendable {
    /// The largest record: a page is at most 64 KiB; SQLite writes one at a time.
    public static let maxRecord = 1 << 20
    /// How far past the stream's bytes a write may reach: four of SQLite's largest pages.
    public static let slack: UInt64 = 4 << 16
    public static let maxTruncations = 64

    /// The copy's largest size.
    public let limit: UInt64
    /// Stream bytes taken so far (headers and payloads).
    public private(set) var taken: Int64 = 0
    private var truncations = 0

    public init(limit: UInt64) {
        self.limit = limit
    }

    /// The most stream bytes a copy may take.
    public var budget: UInt64 { limit > UInt64.max / 3 ? .max : 3 * limit }

    /// Checks the whole records at the start of `bytes`, and applies them to `fd` when one is given; returns the
    /// bytes they take (a partial record at the end is left for the next call), or why the stream is not a copy's.
    public mutating func take(_ bytes: UnsafeRawBufferPointer, applyingTo fd: Int32? = nil) -> Result<Int, BackupReplayError> {
        var at = 0
        defer { taken += Int64(at) }
        while bytes.count - at >= BackupStream.headerSize {
            let magic = Self.u32(bytes, at), count = Self.u32(bytes, at + 4), offset = Self.u64(bytes, at + 8)
            guard magic == BackupStream.magic else { return .failure(.init(.malformed, "its copy stream holds something that is not a record")) }
            let size = count == BackupStream.truncate ? BackupStream.headerSize : BackupStream.headerSize + Int(count)
            // Everything before this record, and this record: what the copy may reach, and the budget.
            let after = UInt64(taken) + UInt64(at) + UInt64(size)
            if count == BackupStream.truncate {
                guard offset <= limit else { return .failure(.init(.limit, "its copy would be \(offset) bytes, past \(limit)")) }
                guard offset <= after + Self.slack else {
                    return .failure(.init(.malformed, "its copy stream truncates the copy to \(offset) bytes, far past the \(after) bytes it streamed"))
                }
                guard truncations < Self.maxTruncations else { return .failure(.init(.limit, "its copy stream truncates the copy again and again")) }
                guard after <= budget else { return .failure(Self.overBudget(budget, limit)) }
                if let fd { guard ftruncate(fd, off_t(offset)) == 0 else { return .failure(.init(.io, "cannot truncate the copy: errno \(errno)")) } }
                truncations += 1
                at += BackupStream.headerSize
                continue
            }
            guard count > 0, count <= Self.maxRecord, offset <= limit, offset + UInt64(count) <= limit else {
                return .failure(.init(.limit, "its copy stream writes \(count) bytes at \(offset), past the \(limit) a copy of it may hold"))
            }
            guard offset + UInt64(count) <= after + Self.slack else {
                return .failure(.init(.malformed, "its copy stream writes at \(offset), far past the \(after) bytes it streamed: a copy is not that sparse"))
            }
            guard after <= budget else { return .failure(Self.overBudget(budget, limit)) }
            let end = at + size
            // A record whose bytes have not all arrived waits for the next call (and is counted then).
            guard bytes.count >= end else { break }
            if let fd, let base = bytes.baseAddress {
                let written = pwrite(fd, base + at + BackupStream.headerSize, Int(count), off_t(offset))
                guard written == Int(count) else { return .failure(.init(.io, "cannot write the copy: errno \(errno) (is the disk full?)")) }
            }
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

    private static func overBudget(_ budget: UInt64, _ limit: UInt64) -> BackupReplayError {
        .init(.limit, "its copy stream is longer than its budget (\(budget) bytes: three times the \(limit) a copy may hold)")
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
