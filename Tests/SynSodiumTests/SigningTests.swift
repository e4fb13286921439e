import SynSodium
import SynTestSupport
import Testing

/// Ed25519 signing and verification through SigningKey and Ed25519.
@Suite struct SigningTests {
    static let message = Array("attribution: order 42 accepted".utf8)

    @Test func roundTrip() throws {
        let key = try SigningKey.generate()
        #expect(key.publicKey.count == 32)
        let signature = key.sign(Self.message)
        #expect(signature.count == 64)
        #expect(Ed25519.verify(publicKey: key.publicKey, message: Self.message, signature: signature))
        let empty = key.sign([])
        #expect(Ed25519.verify(publicKey: key.publicKey, message: [], signature: empty))
    }

    @Test func generatedKeysDiffer() throws {
        #expect(try SigningKey.generate().publicKey != SigningKey.generate().publicKey)
    }

    @Test func tamperedMessageFails() throws {
        let key = try SigningKey.generate()
        let signature = key.sign(Self.message)
        for index in Self.message.indices {
            var tampered = Self.message
            tampered[index] ^= 0x01
            #expect(!Ed25519.verify(publicKey: key.publicKey, message: tampered, signature: signature))
        }
        #expect(!Ed25519.verify(publicKey: key.publicKey, message: Self.message + [0], signature: signature))
        #expect(!Ed25519.verify(publicKey: key.publicKey, message: [], signature: signature))
    }

    @Test func tamperedSignatureFails() throws {
        let key = try SigningKey.generate()
        let signature = key.sign(Self.message)
        for index in signature.indices {
            var tampered = signature
            tampered[index] ^= 0x80
            #expect(!Ed25519.verify(publicKey: key.publicKey, message: Self.message, signature: tampered))
        }
    }

    @Test func wrongOrTamperedKeyFails() throws {
        let key = try SigningKey.generate()
        let other = try SigningKey.generate()
        let signature = key.sign(Self.message)
        #expect(!Ed25519.verify(publicKey: other.publicKey, message: Self.message, signature: signature))
        var tampered = key.publicKey
        tampered[0] ^= 0x01
        #expect(!Ed25519.verify(publicKey: tampered, message: Self.message, signature: signature))
    }

    @Test func wrongLengthsReturnFalse() throws {
        let key = try SigningKey.generate()
        let signature = key.sign(Self.message)
        let shortKey = Array(key.publicKey.dropLast())
        #expect(!Ed25519.verify(publicKey: shortKey, message: Self.message, signature: signature))
        #expect(!Ed25519.verify(publicKey: key.publicKey + [0], message: Self.message, signature: signature))
        #expect(!Ed25519.verify(publicKey: [], message: Self.message, signature: signature))
        let shortSignature = Array(signature.dropLast())
        #expect(!Ed25519.verify(publicKey: key.publicKey, message: Self.message, signature: shortSignature))
        #expect(!Ed25519.verify(publicKey: key.publicKey, message: Self.message, signature: signature + [0]))
        #expect(!Ed25519.verify(publicKey: key.publicKey, message: Self.message, signature: []))
        #expect(!Ed25519.verify(publicKey: [], domain: .node, message: Self.message, signature: []))
    }

    @Test func checkExplainsRefusals() throws {
        let key = try SigningKey.generate()
        let signature = key.sign(domain: .app("notes"), Self.message)
        try Ed25519.check(publicKey: key.publicKey, domain: .app("notes"), message: Self.message, signature: signature)
        let short = sodiumError { () throws(SodiumError) in
            try Ed25519.check(publicKey: key.publicKey, domain: .app("notes"), message: Self.message, signature: [1])
        }
        #expect(short?.code == .badLength)
        let wrong = sodiumError { () throws(SodiumError) in
            try Ed25519.check(publicKey: key.publicKey, domain: .node, message: Self.message, signature: signature)
        }
        #expect(wrong?.code == .badSignature)
    }

    /// RFC 8032 section 7.1, test 1, loaded through a real key file.
    @Test func rfc8032Vector() throws {
        let dir = TempDir()
        let seed = bytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        let publicKey = bytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        let path = dir.write("rfc.key", bytes: seed + publicKey)
        let key = try KeyFile.load(path: path)
        #expect(key.publicKey == publicKey)
        let signature = key.sign([])
        #expect(Hex.encode(signature) == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
        #expect(Ed25519.verify(publicKey: publicKey, message: [], signature: signature))
    }

    @Test func concurrentSigningWithOneKey() async throws {
        let key = try SigningKey.generate()
        let results = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<32 {
                group.addTask {
                    let message = Array("message \(index)".utf8)
                    let signature = key.sign(domain: .app("app\(index)"), message)
                    return Ed25519.verify(publicKey: key.publicKey, domain: .app("app\(index)"), message: message,
                                          signature: signature)
                }
            }
            var all: [Bool] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(results.count == 32)
        #expect(results.allSatisfy { $0 })
    }
}
