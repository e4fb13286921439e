import Foundation
import SynBackup
import SynSodium
import SynSQLite
import SynTestSupport
import Testing

/// Backup archives as hostile input: a wrong key, any altered, dropped or added byte, a path that escapes, and a
/// manifest that lies are all refused, and nothing is left behind.
@Suite struct ArchiveTests {
    static func directory() throws -> String {
        let dir = TestSupport.scratch + "/archive-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir + "/in", withIntermediateDirectories: true)
        try Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: URL(fileURLWithPath: dir + "/in/big"))
        try Data("small\n".utf8).write(to: URL(fileURLWithPath: dir + "/in/small"))
        return dir
    }

    static func archive(_ dir: String, key: BackupKey) throws -> String {
        let path = dir + "/a.synbak"
        let writer = try ArchiveWriter(path: path, key: key, info: ArchiveInfo(node: "n", snapshot: "s", writer: "test"))
        try writer.add(dir + "/in/big", as: "apps/x/app.db")
        try writer.add(dir + "/in/small", as: "node.toml")
        let files = try writer.finish()
        #expect(files.map(\.path) == ["apps/x/app.db", "node.toml"])
        return path
    }

    @Test func anArchiveRoundTripsUnderAKeyAndUnderAPassphrase() throws {
        let dir = try Self.directory()
        for (name, key) in [("key", BackupKey.key(try SecretKey.generate())), ("words", .passphrase(Array("correct horse".utf8)))] {
            let path = try Self.archive(dir, key: key)
            let out = dir + "/out-\(name)"
            let contents = try ArchiveReader.read(path: path, key: key, into: out)
            #expect(contents.info.node == "n" && contents.files.count == 2)
            #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/apps/x/app.db")) == Data(contentsOf: URL(fileURLWithPath: dir + "/in/big")))
            var digest = Blake2bStream()
            digest.update(Array(try Data(contentsOf: URL(fileURLWithPath: out + "/node.toml"))))
            #expect(Hex.encode(digest.finish()) == contents.files[1].blake2b)
            try FileManager.default.removeItem(atPath: path)
        }
        // The other way round is refused, naming what to give.
        let path = try Self.archive(dir, key: .passphrase(Array("correct horse".utf8)))
        #expect(throws: BackupError.self) { try ArchiveReader.read(path: path, key: .passphrase(Array("wrong horse".utf8))) }
        let other = BackupKey.key(try SecretKey.generate())
        do throws(BackupError) { _ = try ArchiveReader.read(path: path, key: other) } catch {
            #expect(error.code == .wrongKey && error.message.contains("give the passphrase"))
        }
    }

    @Test func everyAlteredByteIsRefusedAndNothingIsKept() throws {
        let dir = try Self.directory()
        let key = BackupKey.key(try SecretKey.generate())
        let path = try Self.archive(dir, key: key)
        let good = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        // A byte in the clear header, the stream header, the first record, a data record and the manifest.
        for at in [20, 8 + 4 + 60, good.count / 3, good.count / 2, good.count - 5] {
            var bytes = good
            bytes[at] ^= 0x40
            try Data(bytes).write(to: URL(fileURLWithPath: dir + "/bad.synbak"))
            #expect(throws: BackupError.self, "byte \(at)") { try ArchiveReader.read(path: dir + "/bad.synbak", key: key, into: dir + "/out") }
            #expect(!FileManager.default.fileExists(atPath: dir + "/out"))
        }
        for cut in [1, 100, good.count / 2] {
            try Data(good.prefix(good.count - cut)).write(to: URL(fileURLWithPath: dir + "/cut.synbak"))
            #expect(throws: BackupError.self) { try ArchiveReader.read(path: dir + "/cut.synbak", key: key, into: dir + "/out") }
            #expect(!FileManager.default.fileExists(atPath: dir + "/out"))
        }
        try Data(good + [0]).write(to: URL(fileURLWithPath: dir + "/long.synbak"))
        #expect(throws: BackupError.self) { try ArchiveReader.read(path: dir + "/long.synbak", key: key) }
    }

    /// An archive made by someone holding the key, with records the honest writer never makes.
    @Test func aKeyHolderCannotEscapeTheTargetOrLieInTheManifest() throws {
        let dir = try Self.directory()
        let secret = try SecretKey.generate()
        func forge(_ records: [(UInt8, [UInt8])]) throws -> String {
            let header = Array(#"{"format":1,"kdf":"key","key_id":"x"}"#.utf8)
            var stream = try SecretStream.Writer(key: secret)
            var length = UInt32(header.count).littleEndian
            var out = Array("SYNBAK1\n".utf8) + withUnsafeBytes(of: &length) { Array($0) } + header + stream.header
            for (i, record) in records.enumerated() {
                let c = stream.push([record.0] + record.1, additional: i == 0 ? header : [], final: i == records.count - 1)
                var l = UInt32(c.count).littleEndian
                out += withUnsafeBytes(of: &l) { Array($0) } + c
            }
            let path = dir + "/forged-\(UInt32.random(in: 0...UInt32.max)).synbak"
            try Data(out).write(to: URL(fileURLWithPath: path))
            return path
        }
        let begin: (UInt8, [UInt8]) = (1, Array(#"{"node":"n","snapshot":"s","writer":"w"}"#.utf8))
        func file(_ path: String, _ size: Int) -> (UInt8, [UInt8]) {
            (2, Array(#"{"path":"\#(path)","size":\#(size),"blake2b":""}"#.utf8))
        }
        var hasher = Blake2bStream()
        hasher.update(Array("hi".utf8))
        let digest = Hex.encode(hasher.finish())
        let manifest: (String) -> (UInt8, [UInt8]) = { p in (4, Array(#"[{"path":"\#(p)","size":2,"blake2b":"\#(digest)"}]"#.utf8)) }
        for hostile in ["../escape", "/etc/passwd", "a/../../b", "a//b", "./a"] {
            let path = try forge([begin, file(hostile, 2), (3, Array("hi".utf8)), manifest(hostile)])
            #expect(throws: BackupError.self, "\(hostile)") { try ArchiveReader.read(path: path, key: .key(secret), into: dir + "/t") }
            #expect(!FileManager.default.fileExists(atPath: dir + "/t") && !FileManager.default.fileExists(atPath: dir + "/escape"))
        }
        // A manifest that does not match what came, data past a file's size, and a record after the final one.
        let lies = try forge([begin, file("ok", 2), (3, Array("hi".utf8)), (4, Array(#"[{"path":"ok","size":2,"blake2b":"00"}]"#.utf8))])
        #expect(throws: BackupError.self) { try ArchiveReader.read(path: lies, key: .key(secret)) }
        let overrun = try forge([begin, file("ok", 1), (3, Array("hi".utf8)), manifest("ok")])
        #expect(throws: BackupError.self) { try ArchiveReader.read(path: overrun, key: .key(secret)) }
        let honest = try forge([begin, file("ok", 2), (3, Array("hi".utf8)), manifest("ok")])
        #expect(try ArchiveReader.read(path: honest, key: .key(secret)).files.count == 1)
        let twice = try forge([begin, file("ok", 2), (3, Array("hi".utf8)), file("ok", 2), (3, Array("hi".utf8)), manifest("ok")])
        #expect(throws: BackupError.self) { try ArchiveReader.read(path: twice, key: .key(secret)) }
    }

    /// A `BackupStream` record: a write of `bytes` at `offset`, or a truncation to it.
    static func record(_ offset: Int, _ bytes: [UInt8]?) -> [UInt8] {
        var out = [UInt8]()
        for v in [BackupStream.magic, bytes.map { UInt32($0.count) } ?? BackupStream.truncate] { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        withUnsafeBytes(of: UInt64(offset).littleEndian) { out += $0 }
        return out + (bytes ?? [])
    }

    /// A records entry is replayed into the database its records make, written as SQLite writes a copy: page 1
    /// last, a page written twice, a hole where the lock byte's page would be, and a truncation at the end.
    @Test func aRecordsEntryReplaysIntoTheDatabaseItsRecordsMake() throws {
        let dir = try Self.directory()
        let db = try Database(path: dir + "/source.db")
        try db.execute("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)")
        for k in 0..<200 { _ = try db.execute("INSERT INTO t VALUES (?, randomblob(3000))", [.integer(Int64(k))]) }
        db.close()
        let source = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/source.db")))
        let page = 4096
        let pages = source.count / page
        #expect(pages > 100)
        func slice(_ p: Int) -> [UInt8] { Array(source[(p * page)..<((p + 1) * page)]) }
        var stream = [UInt8]()
        for p in 1..<pages { stream += Self.record(p * page, p == 7 ? [UInt8](repeating: 0xEE, count: page) : slice(p)) }
        stream += Self.record(7 * page, slice(7)) + Self.record(0, slice(0))
        // Past the database: a hole and a page, then a truncation that keeps two pages too many, which the reader
        // trims by the header's page count.
        stream += Self.record((pages + 3) * page, [UInt8](repeating: 1, count: page)) + Self.record((pages + 2) * page, nil)

        let key = BackupKey.key(try SecretKey.generate())
        let path = dir + "/records.synbak"
        let writer = try ArchiveWriter(path: path, key: key, info: ArchiveInfo(node: "n", snapshot: "s", writer: "test"))
        try writer.add(dir + "/in/small", as: "node.toml")
        let entry = try writer.beginRecords(as: "apps/x/app.db", limit: 64 << 20)
        // Nothing else goes in while the entry is open.
        #expect(throws: BackupError.self) { try writer.add(dir + "/in/small", as: "other") }
        // In pieces that cut records in two, as the copy's thread hands them on.
        var at = 0
        while at < stream.count {
            let n = min(stream.count - at, 10_007)
            try stream[at..<(at + n)].withUnsafeBytes { try entry.append($0) }
            at += n
        }
        try entry.close(ok: true)
        try writer.add(dir + "/in/big", as: "apps/x/big")
        let files = try writer.finish()
        #expect(files.map(\.path) == ["node.toml", "apps/x/app.db", "apps/x/big"])
        #expect(files[1].kind == .records && files[1].size == Int64(stream.count) && files[1].limit == 64 << 20)

        // Checked without a target, then replayed into one.
        #expect(try ArchiveReader.read(path: path, key: key).files == files)
        let contents = try ArchiveReader.read(path: path, key: key, into: dir + "/out")
        #expect(contents.files == files)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/out/apps/x/app.db"))) == source)
        let copy = try Database(path: dir + "/out/apps/x/app.db")
        defer { copy.close() }
        #expect(try copy.query("PRAGMA integrity_check").first?.first == .text("ok"))
        #expect(try copy.query("SELECT count(*) FROM t").first?.first == .integer(200))
    }

    /// A records entry whose copy failed is closed as dropped: the reader discards it, and everything else comes back.
    @Test func aDroppedRecordsEntryLeavesNothingBehind() throws {
        let dir = try Self.directory()
        let key = BackupKey.key(try SecretKey.generate())
        let path = dir + "/dropped.synbak"
        let writer = try ArchiveWriter(path: path, key: key, info: ArchiveInfo(node: "n", snapshot: "s", writer: "test"))
        let entry = try writer.beginRecords(as: "apps/x/app.db", limit: 1 << 20)
        let half = Self.record(0, [UInt8](repeating: 5, count: 4096))
        try (half + Array(half.prefix(20))).withUnsafeBytes { try entry.append($0) }
        try entry.close(ok: false)
        try writer.add(dir + "/in/small", as: "node.toml")
        #expect(try writer.finish().map(\.path) == ["node.toml"])
        let contents = try ArchiveReader.read(path: path, key: key, into: dir + "/out")
        #expect(contents.files.map(\.path) == ["node.toml"])
        #expect(!FileManager.default.fileExists(atPath: dir + "/out/apps/x/app.db"))
        #expect(FileManager.default.fileExists(atPath: dir + "/out/node.toml"))
    }

    /// Someone holding the key can put any records in an entry; the reader applies the node's rules to them, so
    /// no archive rebuilds a file much larger than itself.
    static let forgedStreams: [([UInt8], String)] = [
        (record(2 << 20, [1]), "past the"),
        (record(0, nil) + record(4 << 20, nil), "past"),
        (record(900 << 10, [1]), "far past"),
        (record(0, [1]) + record(900 << 10, nil), "far past"),
        (Array(record(0, [UInt8](repeating: 1, count: 100)).dropLast(1)), "ends inside a record"),
        ([0x42] + record(0, [1]), "not a record"),
    ]

    @Test(arguments: forgedStreams)
    func aRecordsEntryThatIsNotACopyIsRefused(_ stream: [UInt8], _ expected: String) throws {
        let dir = try Self.directory()
        let key = BackupKey.key(try SecretKey.generate())
        let path = dir + "/forged.synbak"
        let writer = try ArchiveWriter(path: path, key: key, info: ArchiveInfo(node: "n", snapshot: "s", writer: "test"))
        let entry = try writer.beginRecords(as: "apps/x/app.db", limit: 1 << 20)
        try stream.withUnsafeBytes { try entry.append($0) }
        try entry.close(ok: true)
        _ = try writer.finish()
        do throws(BackupError) {
            _ = try ArchiveReader.read(path: path, key: key, into: dir + "/out")
            Issue.record("a forged records entry was read")
        } catch {
            #expect(error.code == .damaged && error.message.contains(expected), "\(error.message)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/out"))
    }
}
