import CSynSodium

/// SHA-256 over bytes that arrive in pieces (a package being read or written, an upload), via libsodium.
/// Not `Sendable`: one owner feeds it, then takes the digest once.
public struct SHA256Stream {
    private var state = crypto_hash_sha256_state()
    /// Bytes fed so far.
    public private(set) var count: Int = 0

    public init() {
        crypto_hash_sha256_init(&state)
    }

    /// Adds `bytes`. The corresponding C function is `crypto_hash_sha256_update`.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        _ = crypto_hash_sha256_update(&state, base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
        count += bytes.count
    }

    /// Adds `bytes`.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The 32-byte digest of everything fed. The corresponding C function is `crypto_hash_sha256_final`.
    public mutating func finish() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        crypto_hash_sha256_final(&state, &digest)
        return digest
    }
}
