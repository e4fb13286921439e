import CSynSodium

/// Bytes from the operating system's secure random source (libsodium randombytes).
public enum SecureRandom {
    /// `n` random bytes; empty for `n <= 0`.
    public static func bytes(_ n: Int) -> [UInt8] {
        guard n > 0 else { return [] }
        _ = Sodium.ready
        var out = [UInt8](repeating: 0, count: n)
        randombytes_buf(&out, n)
        return out
    }
}
