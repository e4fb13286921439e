import CSynSodium

/// The libsodium library as a whole.
public enum Sodium {
    /// Whether `sodium_init` succeeded; evaluated once, thread-safely, on first use.
    static let ready: Bool = sodium_init() >= 0

    /// Initialises libsodium. Idempotent and safe to call from any thread.
    public static func initialize() throws(SodiumError) {
        guard ready else { throw SodiumError(.initFailed, "libsodium failed to initialise (sodium_init)") }
    }

    /// The libsodium version string, e.g. "1.0.18".
    public static var version: String { String(cString: sodium_version_string()) }

    /// Compares two byte arrays in time independent of their contents; false when the lengths differ.
    public static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.isEmpty { return true }
        return sodium_memcmp(lhs, rhs, lhs.count) == 0
    }
}
