import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The records a worker's backup copy leaves in, on a stream socket to the host: a 16-byte header (`magic`, then the
/// byte count, then the file offset, little-endian) and the bytes; a count of `truncate` is a truncation to the
/// offset. Written here by `DescriptorJail`'s overrides; read, checked and applied by the host (`CopyStream`), which
/// trusts none of it: the app shares the process that writes them.
public enum BackupStream {
    public static let magic: UInt32 = 0x5359_4E42
    public static let truncate: UInt32 = 0xFFFF_FFFF
    public static let headerSize = 16

    /// Writes one record (a truncation when `bytes` is nil); false when the stream failed. Header and bytes leave in
    /// one write (a page is a few KiB: copying it costs less than a second system call).
    static func send(_ fd: Int32, offset: UInt64, bytes: UnsafeRawBufferPointer?) -> Bool {
        let count = bytes?.count ?? 0
        let total = headerSize + count
        let sent = withUnsafeTemporaryAllocation(byteCount: total, alignment: 8) { record -> Bool in
            record.storeBytes(of: magic.littleEndian, toByteOffset: 0, as: UInt32.self)
            record.storeBytes(of: (bytes == nil ? truncate : UInt32(truncatingIfNeeded: count)).littleEndian, toByteOffset: 4, as: UInt32.self)
            record.storeBytes(of: offset.littleEndian, toByteOffset: 8, as: UInt64.self)
            if let bytes, let source = bytes.baseAddress, count > 0, let target = record.baseAddress {
                (target + headerSize).copyMemory(from: source, byteCount: count)
            }
            return all(UnsafeRawBufferPointer(record), fd)
        }
        guard sent else { return false }
        DescriptorJail.streamed.add(Int64(total), ordering: .relaxed)
        return true
    }

    private static func all(_ buffer: UnsafeRawBufferPointer, _ fd: Int32) -> Bool {
        var done = 0
        while done < buffer.count {
            guard let base = buffer.baseAddress else { return buffer.count == 0 }
            // `write`, which the sandbox allows; the host keeps its end open as long as the app's workers run.
            let n = Glibc.write(fd, base + done, buffer.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }
}
