import Foundation
import SynSQLite
@testable import SynRuntime
import SynTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The node's side of a backup copy streamed by an app's worker: records are applied to the copy; anything else
/// the app puts in the stream (it shares the process that writes it) ends that copy with a reason, and never
/// writes past the copy's limit.
@Suite struct CopyStreamTests {
    static func record(_ offset: UInt64, _ bytes: [UInt8]?, magic: UInt32 = BackupStream.magic, count: UInt32? = nil) -> [UInt8] {
        var out = [UInt8]()
        for v in [magic, count ?? (bytes == nil ? BackupStream.truncate : UInt32(bytes?.count ?? 0))] { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        withUnsafeBytes(of: offset.littleEndian) { out += $0 }
        return out + (bytes ?? [])
    }

    /// A copy stream reading a socket pair into a file of its own, started; `end` is the worker's side.
    final class Rig {
        let dir = TempDir("copystream")
        let fds: [Int32]
        let target: Int32
        let stream: CopyStream
        var end: Int32 { fds[1] }
        var copy: [UInt8] { Array((try? Data(contentsOf: URL(fileURLWithPath: dir.file("copy")))) ?? Data()) }

        init(limit: UInt64) throws {
            var pair: [Int32] = [-1, -1]
            try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
            fds = pair
            _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
            target = open(dir.file("copy"), O_RDWR | O_CREAT | O_TRUNC, 0o600)
            stream = CopyStream(source: fds[0], target: target, limit: limit)
            try #require(stream.start())
        }

        deinit {
            close(fds[0]); close(fds[1]); close(target)
        }
    }

    /// A copy stream fed `bytes`: what it said, and the file.
    static func feed(_ bytes: [UInt8], limit: UInt64 = 1 << 20, expect total: Int64? = nil) throws -> (String?, [UInt8]) {
        let rig = try Rig(limit: limit)
        let end = rig.end
        let writer = Thread { _ = bytes.withUnsafeBytes { write(end, $0.baseAddress, $0.count) } }
        writer.start()
        let why = rig.stream.wait(for: total ?? Int64(bytes.count), exact: true, deadline: Int64(DispatchTime.now().uptimeNanoseconds) + 60_000_000_000)
        rig.stream.finish()
        return (why, rig.copy)
    }

    @Test func recordsAreAppliedWhereTheySay() throws {
        let page = [UInt8](repeating: 7, count: 4096)
        let bytes = Self.record(4096, page) + Self.record(0, [UInt8](repeating: 1, count: 4096)) + Self.record(8192, page) + Self.record(8192, nil)
        let (why, file) = try Self.feed(bytes)
        #expect(why == nil)
        #expect(file.count == 8192 && file[0] == 1 && file[4096] == 7)
    }

    @Test(arguments: [
        (record(0, [1, 2, 3], magic: 0xDEAD_BEEF), "not a record"),
        (record(1 << 20, [1, 2, 3]), "past the"),
        (record(UInt64.max - 1, [1]), "past the"),
        (record(0, nil, count: 8 << 20), "past the"),
        (record(1 << 40, nil), "past"),
        (record(0, []), "writes 0 bytes"),
        ((0..<5).flatMap { _ in record(0, [UInt8](repeating: 1, count: 1 << 20)) }, "more than three times"),
        ((0..<70).flatMap { _ in record(4096, nil) }, "again and again"),
    ])
    func whatIsNotARecordEndsTheCopy(_ bytes: [UInt8], _ expected: String) throws {
        let (why, file) = try Self.feed(bytes)
        #expect(why?.contains(expected) == true, "\(why ?? "nil")")
        #expect(file.count <= 1 << 20)
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
