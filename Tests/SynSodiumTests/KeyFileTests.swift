import Glibc
import SynSodium
import SynTestSupport
import Testing

/// Node and app key files on disk: creation, reloading and every refusal.
@Suite struct KeyFileTests {
    @Test func createsWithMode0600AndReloads() throws {
        let dir = TempDir()
        let path = dir.file("node.key")
        let (key, created) = try KeyFile.loadOrCreate(path: path)
        #expect(created)
        #expect(modeBits(path) == 0o600)
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_size == 64)
        #expect(info.st_uid == geteuid())
        #expect((info.st_mode & S_IFMT) == S_IFREG)
        #expect(dir.entries() == ["node.key"])
        #expect(Array(readBytes(path)[32...]) == key.publicKey)

        let again = try KeyFile.loadOrCreate(path: path)
        #expect(!again.created)
        #expect(again.key.publicKey == key.publicKey)
        #expect(try KeyFile.load(path: path).publicKey == key.publicKey)

        let message = Array("checkpoint".utf8)
        #expect(Ed25519.verify(publicKey: key.publicKey, domain: .node, message: message,
                               signature: again.key.sign(domain: .node, message)))
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o620, 0o660, 0o601] as [mode_t])
    func refusesGroupOrOtherAccess(mode: mode_t) throws {
        let dir = TempDir()
        let path = dir.file("node.key")
        _ = try KeyFile.loadOrCreate(path: path)
        #expect(chmod(path, mode) == 0)
        let octal = "0" + String(mode, radix: 8)
        for error in [sodiumError { () throws(SodiumError) in try KeyFile.load(path: path) },
                      sodiumError { () throws(SodiumError) in try KeyFile.loadOrCreate(path: path) }] {
            #expect(error?.code == .permissions)
            #expect(error?.message.contains("chmod 600 \(path)") == true)
            #expect(error?.message.contains(path) == true)
            #expect(error?.message.contains(octal) == true)
        }
        #expect(modeBits(path) == mode)
    }

    @Test func acceptsOwnerReadOnly() throws {
        let dir = TempDir()
        let path = dir.file("node.key")
        let created = try KeyFile.loadOrCreate(path: path).key
        #expect(chmod(path, 0o400) == 0)
        #expect(try KeyFile.load(path: path).publicKey == created.publicKey)
    }

    @Test func refusesSymlinkToKey() throws {
        let dir = TempDir()
        let real = dir.file("real.key")
        _ = try KeyFile.loadOrCreate(path: real)
        let before = readBytes(real)
        let link = dir.file("link.key")
        #expect(symlink(real, link) == 0)
        let loaded = sodiumError { () throws(SodiumError) in try KeyFile.load(path: link) }
        #expect(loaded?.code == .permissions)
        #expect(loaded?.message.contains("symbolic link") == true)
        let created = sodiumError { () throws(SodiumError) in try KeyFile.loadOrCreate(path: link) }
        #expect(created?.code == .permissions)
        #expect(readBytes(real) == before)
    }

    @Test func refusesDanglingSymlinkWithoutCreatingThroughIt() throws {
        let dir = TempDir()
        let target = dir.file("target.key")
        let link = dir.file("link.key")
        #expect(symlink(target, link) == 0)
        let error = sodiumError { () throws(SodiumError) in try KeyFile.loadOrCreate(path: link) }
        #expect(error?.code == .permissions)
        #expect(modeBits(target) == nil)
        #expect(dir.entries() == ["link.key"])
    }

    @Test(arguments: [0, 32, 63, 65, 128])
    func refusesWrongSize(size: Int) throws {
        let dir = TempDir()
        let path = dir.write("node.key", bytes: [UInt8](repeating: 7, count: size))
        let error = sodiumError { () throws(SodiumError) in try KeyFile.loadOrCreate(path: path) }
        #expect(error?.code == .format)
        #expect(error?.message.contains("\(size) bytes") == true)
        #expect(readBytes(path).count == size)
    }

    @Test func refusesMismatchedPublicHalf() throws {
        let dir = TempDir()
        let path = dir.file("node.key")
        _ = try KeyFile.loadOrCreate(path: path)
        var content = readBytes(path)
        content[40] ^= 0x01
        dir.write("node.key", bytes: content)
        let error = sodiumError { () throws(SodiumError) in try KeyFile.load(path: path) }
        #expect(error?.code == .badKey)
    }

    @Test func refusesDirectory() throws {
        let dir = TempDir()
        let path = dir.file("keydir")
        #expect(mkdir(path, 0o700) == 0)
        defer { rmdir(path) }
        let error = sodiumError { () throws(SodiumError) in try KeyFile.loadOrCreate(path: path) }
        #expect(error?.code == .format)
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to chown"))
    func refusesFileOwnedBySomeoneElse() throws {
        let dir = TempDir()
        let path = dir.file("node.key")
        _ = try KeyFile.loadOrCreate(path: path)
        #expect(chown(path, 1, 1) == 0)
        let error = sodiumError { () throws(SodiumError) in try KeyFile.load(path: path) }
        #expect(error?.code == .permissions)
        #expect(error?.message.contains("uid 1") == true)
        #expect(error?.message.contains("chmod 600 \(path)") == true)
    }

    @Test func missingFileAndMissingDirectory() {
        let dir = TempDir()
        let missing = sodiumError { () throws(SodiumError) in try KeyFile.load(path: dir.file("absent.key")) }
        #expect(missing?.code == .io)
        #expect(missing?.message.contains("absent.key") == true)
        let noDir = sodiumError { () throws(SodiumError) in try KeyFile.loadOrCreate(path: dir.file("no/such/x.key")) }
        #expect(noDir?.code == .io)
        #expect(dir.entries().isEmpty)
    }

    @Test func concurrentFirstRunsAgreeOnOneKey() async throws {
        let dir = TempDir()
        let path = dir.file("node.key")
        let keys = await withTaskGroup(of: [UInt8]?.self) { group in
            for _ in 0..<8 {
                group.addTask { try? KeyFile.loadOrCreate(path: path).key.publicKey }
            }
            var all: [[UInt8]?] = []
            for await key in group { all.append(key) }
            return all
        }
        #expect(keys.count == 8)
        #expect(keys.allSatisfy { $0 != nil && $0 == keys[0] })
        #expect(dir.entries() == ["node.key"])
    }
}
