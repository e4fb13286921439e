import CSynSodium

/// Secret bytes in sodium_malloc'd memory: guard pages, mlock'd where the system allows, read-only once filled,
/// and zeroed and freed (sodium_free) on deinit. Immutable after init, so concurrent reads are safe.
final class SecretBuffer: @unchecked Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let count: Int
    private let base: UnsafeMutablePointer<UInt8>

    /// Allocates `count` bytes and lets `fill` write all of them; on a throw the memory is zeroed and freed.
    init(count: Int, fill: (UnsafeMutablePointer<UInt8>) throws(SodiumError) -> Void) throws(SodiumError) {
        try Sodium.initialize()
        guard count > 0, let raw = sodium_malloc(count) else {
            throw SodiumError(.initFailed, "cannot allocate guarded memory for secret key material")
        }
        let memory = raw.bindMemory(to: UInt8.self, capacity: count)
        do {
            try fill(memory)
        } catch {
            sodium_free(memory)
            throw error
        }
        _ = sodium_mprotect_readonly(memory)
        self.count = count
        self.base = memory
    }

    deinit { sodium_free(base) }

    /// Calls `body` with read-only access to the `count` secret bytes; do not let them escape.
    func withPointer<R, E: Error>(_ body: (UnsafePointer<UInt8>) throws(E) -> R) throws(E) -> R {
        try body(UnsafePointer(base))
    }

    /// The size only, never the contents.
    var description: String { "SecretBuffer(\(count) bytes)" }
    var debugDescription: String { description }
}
