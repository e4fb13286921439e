import CSynSodium
import Glibc

/// Streaming SHA-256 of files via libsodium.
public enum FileDigest {
    /// Lowercase hex SHA-256 of the file at `path`, read in chunks.
    public static func sha256Hex(path: String) throws(ConfigError) -> String {
        guard sodium_init() >= 0 else {
            throw ConfigError(code: .unreadable, file: path, message: "libsodium failed to initialise")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ConfigError(code: .unreadable, file: path, message: "cannot open file (\(ErrnoNames.describe(errno)))")
        }
        defer { close(fd) }
        var state = crypto_hash_sha256_state()
        crypto_hash_sha256_init(&state)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ConfigError(code: .unreadable, file: path, message: "cannot read file (\(ErrnoNames.describe(errno)))")
            }
            if count == 0 { break }
            chunk.withUnsafeBufferPointer { buffer in
                _ = crypto_hash_sha256_update(&state, buffer.baseAddress, UInt64(count))
            }
        }
        var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        crypto_hash_sha256_final(&state, &digest)
        return hex(digest)
    }

    /// Lowercase hex of `bytes`.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
