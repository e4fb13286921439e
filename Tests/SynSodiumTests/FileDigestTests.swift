import SynSodium
import SynTestSupport
import Testing

/// SHA-256 of real files through libsodium.
@Suite struct FileDigestTests {
    @Test func knownVectors() throws {
        let dir = TempDir()
        #expect(try FileDigest.sha256Hex(path: dir.write("abc", "abc"))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(try FileDigest.sha256Hex(path: dir.write("empty", ""))
            == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func largerThanOneChunk() throws {
        let dir = TempDir()
        let bytes = (0..<200_000).map { UInt8(($0 * 7 + 3) % 251) }
        let path = dir.write("big", bytes: bytes)
        #expect(try FileDigest.sha256Hex(path: path) == "d2979f63fc353288130be1837d34f088e378e76c5baa67b8a6077c950db3c286")
    }

    @Test func missingFile() {
        let error = sodiumError { () throws(SodiumError) in try FileDigest.sha256Hex(path: "/nonexistent/x.so") }
        #expect(error?.code == .io)
        #expect(error?.message.contains("/nonexistent/x.so (ENOENT)") == true)
    }
}
