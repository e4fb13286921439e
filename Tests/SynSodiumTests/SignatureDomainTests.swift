import SynSodium
import Testing

/// Domain separation: a signature binds the signer's domain, and domains never collide.
@Suite struct SignatureDomainTests {
    static let message = Array("hello".utf8)

    /// Whether `signature` by `key` verifies for `message` in `domain`.
    func verify(_ key: SigningKey, _ domain: SignatureDomain, _ message: [UInt8] = Self.message,
                signature: [UInt8]) -> Bool {
        Ed25519.verify(publicKey: key.publicKey, domain: domain, message: message, signature: signature)
    }

    @Test func exactLayout() {
        let tag = Array("syneroym-sig-v1".utf8) + [0]
        #expect(SignatureDomain.tag == tag)
        #expect(SignatureDomain.node.bytes(for: [9]) == tag + [1, 0, 0, 0, 0, 9])
        #expect(SignatureDomain.app("ab").bytes(for: [9]) == tag + [2, 2, 0, 0, 0, 0x61, 0x62, 9])
        let long = String(repeating: "x", count: 300)
        #expect(Array(SignatureDomain.app(long).bytes(for: [])[16..<21]) == [2, 0x2c, 0x01, 0, 0])
    }

    @Test func nodeSignatureIsNotAnAppSignature() throws {
        let key = try SigningKey.generate()
        let signature = key.sign(domain: .node, Self.message)
        #expect(verify(key, .node, signature: signature))
        #expect(!verify(key, .app("a"), signature: signature))
        #expect(!verify(key, .app(""), signature: signature))
        #expect(!Ed25519.verify(publicKey: key.publicKey, message: Self.message, signature: signature))
    }

    @Test func appSignatureIsNotAnotherAppsOrTheNodes() throws {
        let key = try SigningKey.generate()
        let signature = key.sign(domain: .app("a"), Self.message)
        #expect(verify(key, .app("a"), signature: signature))
        #expect(!verify(key, .app("b"), signature: signature))
        #expect(!verify(key, .node, signature: signature))
        #expect(!Ed25519.verify(publicKey: key.publicKey, message: Self.message, signature: signature))
    }

    @Test func emptyAppIdIsNotTheNode() {
        #expect(SignatureDomain.app("").bytes(for: Self.message) != SignatureDomain.node.bytes(for: Self.message))
    }

    @Test func noConcatenationAmbiguity() throws {
        let joined = SignatureDomain.app("ab").bytes(for: Self.message)
        let split = SignatureDomain.app("a").bytes(for: Array("b".utf8) + Self.message)
        #expect(joined != split)
        let key = try SigningKey.generate()
        let signature = key.sign(domain: .app("ab"), Self.message)
        #expect(!verify(key, .app("a"), Array("b".utf8) + Self.message, signature: signature))
    }

    @Test func domainSignIsRawSignOfDomainBytes() throws {
        let key = try SigningKey.generate()
        let signature = key.sign(domain: .app("x"), Self.message)
        #expect(Ed25519.verify(publicKey: key.publicKey, message: SignatureDomain.app("x").bytes(for: Self.message),
                               signature: signature))
    }
}
