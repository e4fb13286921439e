import CSynSodium

/// Secret bytes in sodium_malloc'd memory: guard pages, mlock'd where the system allows, read-only once filled,
/// and zeroed and freed (sodium_free) on deinit. Immutable after init, so concurrent reads are safe.
final class SecretBuffer: @unchecked Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let count: Int
    private let base: UnsafeMutableRawPointer

    /// Allocates `count` bytes and lets `fill` write them; on a throw the memory is zeroed and freed.
    init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws(SodiumError) -> Void) throws(SodiumError) {
        try Sodium.initialize()
        guard count > 0, let memory = sodium_malloc(count) else {
            throw SodiumError(.initFailed, "cannot allocate guarded memory for secret key material")
        }
        do {
            try fill(UnsafeMutableRawBufferPointer(start: memory, count: count))
        } catch {
            sodium_free(memory)
            throw error
        }
        _ = sodium_mprotect_readonly(memory)
        self.count = count
        self.base = memory
    }

    deinit { sodium_free(base) }

    /// Calls `body` with read-only access to the secret bytes; do not let them escape.
    func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    var description: String { "SecretBuffer(\(count) bytes)" }
    var debugDescription: String { description }
}
