import CSynSodium
import SynSodium

/// Streaming SHA-256 of files via libsodium.
public enum FileDigest {
    /// Lowercase hex SHA-256 of the file at `path`, read in chunks.
    public static func sha256Hex(path: String) throws(ConfigError) -> String {
        guard sodium_init() >= 0 else {
            throw ConfigError(code: .unreadable, file: path, message: "libsodium failed to initialise")
        }
        var state = crypto_hash_sha256_state()
        crypto_hash_sha256_init(&state)
        try TextFile.chunks(path: path, size: 64 * 1024) { chunk throws(ConfigError) in
            _ = crypto_hash_sha256_update(&state, chunk.baseAddress, UInt64(chunk.count))
        }
        var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        crypto_hash_sha256_final(&state, &digest)
        return Hex.encode(digest)
    }
}
