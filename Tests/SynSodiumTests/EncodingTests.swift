import SynSodium
import Testing

/// Hex, base64url and random bytes.
@Suite struct EncodingTests {
    static let samples: [[UInt8]] = [[], [0], [0xff], [0xfb, 0xff, 0xfe, 0x01], Array(0...255), Array("hello".utf8)]

    @Test func hexRoundTrip() {
        for sample in Self.samples { #expect(Hex.decode(Hex.encode(sample)) == sample) }
        #expect(Hex.encode([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
        #expect(Hex.decode("DEADbeef") == [0xde, 0xad, 0xbe, 0xef])
    }

    @Test(arguments: ["0", "abc", "zz", "0g", " 00", "00 ", "0x00", "é0", "-1"])
    func hexRejects(text: String) {
        #expect(Hex.decode(text) == nil)
    }

    @Test func base64URLRoundTrip() {
        for sample in Self.samples { #expect(Base64URL.decode(Base64URL.encode(sample)) == sample) }
        #expect(Base64URL.encode([0xfb, 0xff, 0xfe, 0x01]) == "-__-AQ")
        #expect(Base64URL.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64URL.encode(Array("fo".utf8)) == "Zm8")
        #expect(Base64URL.decode("Zm8") == Array("fo".utf8))
        #expect(Base64URL.decode("") == [])
    }

    @Test(arguments: ["Zm8=", "+/8", "Z", "Zm9vY", "Zm 8", "Zm8\n", "Zm9", "Zm\u{0}8", "Zg==", "Zh"])
    func base64URLRejects(text: String) {
        #expect(Base64URL.decode(text) == nil)
    }

    @Test func secureRandom() {
        #expect(SecureRandom.bytes(0) == [])
        #expect(SecureRandom.bytes(-3) == [])
        let a = SecureRandom.bytes(32)
        let b = SecureRandom.bytes(32)
        #expect(a.count == 32)
        #expect(a != b)
        #expect(a != [UInt8](repeating: 0, count: 32))
    }

    @Test func constantTimeEqual() {
        #expect(Sodium.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!Sodium.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!Sodium.constantTimeEqual([1, 2], [1, 2, 3]))
        #expect(Sodium.constantTimeEqual([], []))
    }

    @Test func initializeIsIdempotent() throws {
        try Sodium.initialize()
        try Sodium.initialize()
        #expect(!Sodium.version.isEmpty)
    }

    @Test func errorDescription() {
        let error = SodiumError(.format, "bad")
        #expect(error.description == "format: bad")
        #expect(error == SodiumError(.format, "bad"))
        #expect(error != SodiumError(.io, "bad"))
    }
}
