import CSynSodium

/// Cryptographic hashes via libsodium.
public enum Hash {
    /// Accepted BLAKE2b output lengths in bytes.
    public static let blake2bLengths = 16...64

    /// The 32-byte SHA-256 digest of `data`.
    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        _ = crypto_hash_sha256(&digest, data, UInt64(data.count))
        return digest
    }

    /// The unkeyed BLAKE2b digest of `data`, `length` bytes long; `length` is clamped to `blake2bLengths`.
    public static func blake2b(_ data: [UInt8], length: Int = 32) -> [UInt8] {
        let size = min(max(length, blake2bLengths.lowerBound), blake2bLengths.upperBound)
        var digest = [UInt8](repeating: 0, count: size)
        _ = crypto_generichash(&digest, size, data, UInt64(data.count), nil, 0)
        return digest
    }
}
