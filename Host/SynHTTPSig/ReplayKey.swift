/// A 128-bit fingerprint of something remembered by `ReplayCache`: a keyed hash of a kind tag, the length-prefixed
/// keyid and the length-prefixed nonce or signature, so no two inputs collide by concatenation.
///
/// The hash is SipHash (the standard library's `Hasher`, itself seeded randomly per process) keyed in addition with
/// the cache's own 128-bit random secret, computed twice with different domain bytes for the two 64-bit halves.
/// The fingerprints never leave the process and only meet others of the same cache, so they need not be stable;
/// what matters is that nobody can aim a collision at someone else's entry (a collision could only cause a false
/// "replay" refusal, since the cache refuses rather than evicts): without the secret the fingerprints cannot be
/// computed, so the chance of hitting a given entry is 2^-128 per attempt. Memory stays bounded by the cache's
/// capacity. The kind (1 for a nonce, 2 for a signature) is hashed in rather than stored, so an entry is 16 bytes.
struct ReplayKey: Hashable, Sendable {
    let high: UInt64
    let low: UInt64

    /// The fingerprint of a (keyid, nonce) pair.
    static func nonce(keyID: String, nonce: String, secret: ReplaySecret) -> ReplayKey {
        var text = nonce
        return text.withUTF8 { make(kind: 1, keyID: keyID, value: UnsafeRawBufferPointer($0), secret: secret) }
    }

    /// The fingerprint of a (keyid, signature) pair.
    static func signature(keyID: String, signature: [UInt8], secret: ReplaySecret) -> ReplayKey {
        signature.withUnsafeBytes { make(kind: 2, keyID: keyID, value: $0, secret: secret) }
    }

    private static func make(kind: UInt8, keyID: String, value: UnsafeRawBufferPointer,
                             secret: ReplaySecret) -> ReplayKey {
        var id = keyID
        return id.withUTF8 { keyIDBytes in
            func half(_ domain: UInt8) -> UInt64 {
                var hasher = Hasher()
                hasher.combine(secret.k0)
                hasher.combine(secret.k1)
                hasher.combine(domain)
                hasher.combine(kind)
                hasher.combine(UInt64(keyIDBytes.count))
                hasher.combine(bytes: UnsafeRawBufferPointer(keyIDBytes))
                hasher.combine(UInt64(value.count))
                hasher.combine(bytes: value)
                return UInt64(UInt(bitPattern: hasher.finalize()))
            }
            return ReplayKey(high: half(0x68), low: half(0x6c))
        }
    }

    /// The bits are already a keyed hash: one word is as good as the whole for bucketing (equality still compares
    /// everything).
    func hash(into hasher: inout Hasher) { hasher.combine(low) }
}

/// A cache's random fingerprint key.
struct ReplaySecret: Sendable {
    let k0: UInt64
    let k1: UInt64

    /// 128 bits from the operating system's secure random source.
    static func random(from bytes: [UInt8]) -> ReplaySecret {
        var k0: UInt64 = 0
        var k1: UInt64 = 0
        for index in 0..<8 {
            k0 = k0 << 8 | UInt64(bytes[index])
            k1 = k1 << 8 | UInt64(bytes[index + 8])
        }
        return ReplaySecret(k0: k0, k1: k1)
    }
}

/// What one request asks the cache to remember: its (keyid, nonce) if it has a nonce, and its (keyid, signature).
struct ReplayKeys: Sendable {
    let nonce: ReplayKey?
    let signature: ReplayKey

    /// Entries these keys take: 2 with a nonce, else 1.
    var count: Int { nonce == nil ? 1 : 2 }
}
