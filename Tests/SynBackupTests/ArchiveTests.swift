import Foundation
import SynBackup
import SynSodium
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
}
