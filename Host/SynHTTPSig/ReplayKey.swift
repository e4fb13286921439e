import SynSodium

/// A 128-bit fingerprint of something remembered by `ReplayCache`: the first 16 bytes of SHA-256 over a kind tag,
/// the keyid and the nonce or signature, each length-prefixed so no two inputs collide by concatenation.
struct ReplayKey: Hashable, Sendable {
    /// 1 for a nonce, 2 for a signature.
    let kind: UInt8
    let high: UInt64
    let low: UInt64

    /// The fingerprint of a (keyid, nonce) pair.
    static func nonce(keyID: String, nonce: String) -> ReplayKey {
        make(kind: 1, keyID: keyID, value: Array(nonce.utf8))
    }

    /// The fingerprint of a (keyid, signature) pair.
    static func signature(keyID: String, signature: [UInt8]) -> ReplayKey {
        make(kind: 2, keyID: keyID, value: signature)
    }

    private static func make(kind: UInt8, keyID: String, value: [UInt8]) -> ReplayKey {
        var input: [UInt8] = Array("syneroym-replay-v1".utf8) + [0, kind]
        appendPrefixed(Array(keyID.utf8), to: &input)
        appendPrefixed(value, to: &input)
        let digest = Hash.sha256(input)
        var high: UInt64 = 0
        var low: UInt64 = 0
        for index in 0..<8 {
            high = high << 8 | UInt64(digest[index])
            low = low << 8 | UInt64(digest[index + 8])
        }
        return ReplayKey(kind: kind, high: high, low: low)
    }

    private static func appendPrefixed(_ bytes: [UInt8], to out: inout [UInt8]) {
        let count = UInt32(truncatingIfNeeded: bytes.count)
        out += [UInt8(count >> 24 & 0xff), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff)]
        out += bytes
    }
}
