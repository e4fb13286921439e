import Foundation
import SynBackup
import SynSodium
import SynSQLite
@testable import SynRuntime
import SynTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The node's side of a backup copy streamed by an app's worker: records are checked and archived as they come,
/// and the archive's reader replays them into the copy; anything else the app puts in the stream (it shares the
/// process that writes it) ends that copy with a reason, and nothing past the copy's limit is archived.
@Suite struct CopyStreamTests {
    static func record(_ offset: UInt64, _ bytes: [UInt8]?, magic: UInt32 = BackupStream.magic, count: UInt32? = nil) -> [UInt8] {
        var out = [UInt8]()
        for v in [magic, count ?? (bytes == nil ? BackupStream.truncate : UInt32(bytes?.count ?? 0))] { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        withUnsafeBytes(of: offset.littleEndian) { out += $0 }
        return out + (bytes ?? [])
    }

    /// A copy stream reading a socket pair into a records entry of a real archive, started; `end` is the worker's
    /// side.
    final class Rig {
        let dir = TempDir("copystream")
        let fds: [Int32]
        let key: BackupKey
        let writer: ArchiveWriter
        let entry: ArchiveWriter.RecordsEntry
        let stream: CopyStream
        var end: Int32 { fds[1] }

        init(limit: UInt64) throws {
            var pair: [Int32] = [-1, -1]
            try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
            fds = pair
            _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
            key = .key(try SecretKey.generate())
            writer = try ArchiveWriter(path: dir.file("a.synbak"), key: key, info: ArchiveInfo(node: "n", snapshot: "s", writer: "test"))
            let entry = try writer.beginRecords(as: "apps/x/app.db", limit: limit)
            self.entry = entry
            stream = CopyStream(source: fds[0], limit: limit) { bytes in
                do throws(BackupError) { try entry.append(bytes) } catch { return error.message }
                return nil
            }
            try #require(stream.start())
        }

        /// Closes the entry (kept when the copy succeeded) and the archive, and reads it back: the copy the
        /// archive's reader replays, nil when the entry was dropped.
        func copy(ok: Bool) throws -> [UInt8]? {
            try entry.close(ok: ok)
            _ = try writer.finish()
            let contents = try ArchiveReader.read(path: dir.file("a.synbak"), key: key, into: dir.file("out"))
            #expect(contents.files.map(\.path) == (ok ? ["apps/x/app.db"] : []))
            return ok ? Array(try Data(contentsOf: URL(fileURLWithPath: dir.file("out/apps/x/app.db")))) : nil
        }

        deinit {
            close(fds[0]); close(fds[1])
        }
    }

    /// A copy stream fed `bytes`: what it said, the stream bytes archived, and the copy read back (nil when failed).
    static func feed(_ bytes: [UInt8], limit: UInt64 = 1 << 20, expect total: Int64? = nil) throws -> (String?, Int64, [UInt8]?) {
        let rig = try Rig(limit: limit)
        let end = rig.end
        let writer = Thread { _ = bytes.withUnsafeBytes { write(end, $0.baseAddress, $0.count) } }
        writer.start()
        let why = rig.stream.wait(for: total ?? Int64(bytes.count), exact: true, deadline: Int64(DispatchTime.now().uptimeNanoseconds) + 60_000_000_000)
        rig.stream.finish()
        return (why, rig.entry.size, try rig.copy(ok: why == nil))
    }

    @Test func recordsAreAppliedWhereTheySay() throws {
        let page = [UInt8](repeating: 7, count: 4096)
        let bytes = Self.record(0, [UInt8](repeating: 1, count: 4096)) + Self.record(4096, page) + Self.record(8192, page)
            + Self.record(0, [UInt8](repeating: 2, count: 10)) + Self.record(8192, nil)
        let (why, archived, file) = try Self.feed(bytes)
        #expect(why == nil && archived == Int64(bytes.count))
        #expect(file?.count == 8192 && file?[0] == 2 && file?[10] == 1 && file?[4096] == 7)
    }

    @Test(arguments: [
        (record(0, [1, 2, 3], magic: 0xDEAD_BEEF), "not a record"),
        (record(1 << 20, [1, 2, 3]), "past the"),
        (record(UInt64.max - 1, [1]), "past the"),
        (record(0, nil, count: 8 << 20), "past the"),
        (record(1 << 40, nil), "past"),
        (record(0, []), "writes 0 bytes"),
        ((0..<5).flatMap { _ in record(0, [UInt8](repeating: 1, count: 1 << 20)) }, "longer than its budget"),
        // Tiny records cost their headers too: the budget is the stream's bytes, not only what they write.
        ((0..<200_000).flatMap { _ in record(0, [1]) }, "longer than its budget"),
        ((0..<70).flatMap { _ in record(0, nil) }, "again and again"),
        // A copy is not much sparser than SQLite leaves it: nothing far past the bytes streamed so far.
        (record(512 << 10, [1]), "far past"),
        (record(0, [1]) + record(600 << 10, nil), "far past"),
    ])
    func whatIsNotARecordEndsTheCopy(_ bytes: [UInt8], _ expected: String) throws {
        let (why, archived, file) = try Self.feed(bytes)
        #expect(why?.contains(expected) == true, "\(why ?? "nil")")
        // Nothing past the budget (three limits of stream bytes) reaches the archive, and the reader drops the
        // failed entry.
        #expect(archived <= 3 << 20 && file == nil, "\(archived)")
    }

    /// A worker that says it streamed less than it did, or more than arrives, is not believed.
    @Test func aWorkerThatMiscountsIsNotBelieved() throws {
        let bytes = Self.record(0, [UInt8](repeating: 3, count: 100))
        #expect(try Self.feed(bytes, expect: 10).0?.contains("more than it said") == true)
    }

    /// An app that never stops writing well-formed records into its stream cannot keep the copy, and the backup
    /// holding the node's apps, from ending: `finish` returns while the records go on (the time limit fails a hang).
    @Test(.timeLimit(.minutes(1))) func anEndlessStreamDoesNotHoldTheCopy() throws {
        let rig = try Rig(limit: 1 << 20)
        let stream = rig.stream, end = rig.end
        let stop = Atomic<Bool>(false)
        let record = Self.record(0, [UInt8](repeating: 9, count: 4096))
        let writing = Atomic<Int>(0)
        let stopped = DispatchSemaphore(value: 0)
        let writer = Thread {
            while !stop.load(ordering: .relaxed) {
                if record.withUnsafeBytes({ send(end, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) > 0 { writing.add(1, ordering: .relaxed) }
            }
            stopped.signal()
        }
        writer.start()
        // Records are arriving when the copy is told to stop; it stops while they go on.
        while writing.load(ordering: .relaxed) < 10 { usleep(1000) }
        stream.finish()
        let stillWriting = writing.load(ordering: .relaxed)
        stop.store(true, ordering: .relaxed)
        // The writer is done before the rig closes the descriptors it writes to.
        stopped.wait()
        #expect(stillWriting >= 10)
    }
}
