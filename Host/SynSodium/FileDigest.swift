import CSynSodium
import SynSystem
#if canImport(Glibc)
import Glibc
#endif

/// Streaming SHA-256 of files via libsodium.
public enum FileDigest {
    /// Lowercase hex SHA-256 of the file at `path`, read in chunks of 64 KiB.
    public static func sha256Hex(path: String) throws(SodiumError) -> String { Hex.encode(try sha256(path: path)) }

    /// SHA-256 of the file at `path`, read in chunks of 64 KiB.
    public static func sha256(path: String) throws(SodiumError) -> [UInt8] {
        try Sodium.initialize()
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SodiumError(.io, "cannot open \(path) (\(Errno.describe(errno)))") }
        defer { close(fd) }
        var state = crypto_hash_sha256_state()
        crypto_hash_sha256_init(&state)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SodiumError(.io, "cannot read \(path) (\(Errno.describe(errno)))")
            }
            if count == 0 { break }
            _ = crypto_hash_sha256_update(&state, chunk, UInt64(count))
        }
        var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        crypto_hash_sha256_final(&state, &digest)
        return digest
    }
}
