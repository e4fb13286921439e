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

    /// A copy stream over a socket pair into a file in `dir`, fed `bytes`; what it said, and the file.
    static func feed(_ bytes: [UInt8], limit: UInt64 = 1 << 20, expect total: Int64? = nil) throws -> (String?, [UInt8]) {
        let dir = TempDir("copystream")
        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        let target = open(dir.file("copy"), O_RDWR | O_CREAT | O_TRUNC, 0o600)
        defer { close(target) }
        let stream = CopyStream(source: fds[0], target: target, limit: limit)
        try #require(stream.start())
        let end = fds[1]
        let writer = Thread { _ = bytes.withUnsafeBytes { write(end, $0.baseAddress, $0.count) } }
        writer.start()
        let why = stream.wait(for: total ?? Int64(bytes.count), exact: true, deadline: Int64(DispatchTime.now().uptimeNanoseconds) + 60_000_000_000)
        stream.finish()
        return (why, Array((try? Data(contentsOf: URL(fileURLWithPath: dir.file("copy")))) ?? Data()))
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
        let dir = TempDir("copystream-endless")
        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        let target = open(dir.file("copy"), O_RDWR | O_CREAT | O_TRUNC, 0o600)
        defer { close(target) }
        let stream = CopyStream(source: fds[0], target: target, limit: 1 << 20)
        try #require(stream.start())
        let end = fds[1]
        let stop = Atomic<Bool>(false)
        let record = Self.record(0, [UInt8](repeating: 9, count: 4096))
        let writing = Atomic<Int>(0)
        let writer = Thread {
            while !stop.load(ordering: .relaxed) {
                if record.withUnsafeBytes({ send(end, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) > 0 { writing.add(1, ordering: .relaxed) }
            }
        }
        writer.start()
        // Records are arriving when the copy is told to stop; it stops while they go on.
        while writing.load(ordering: .relaxed) < 10 { usleep(1000) }
        stream.finish()
        let stillWriting = writing.load(ordering: .relaxed)
        stop.store(true, ordering: .relaxed)
        #expect(stillWriting >= 10)
    }
}
