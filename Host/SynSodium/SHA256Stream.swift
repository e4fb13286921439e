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

/// BLAKE2b-256 over bytes that arrive in pieces, via libsodium (`crypto_generichash`): what backup archives list
/// for each file, faster than libsodium's SHA-256. Its state (which libsodium aligns to 64 bytes, so Swift sees it
/// as opaque) lives in memory of its own. Not `Sendable`: one owner feeds it.
public final class Blake2bStream {
    private let state: UnsafeMutableRawPointer

    public init() {
        state = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        crypto_generichash_init(OpaquePointer(state), nil, 0, 32)
    }

    deinit { state.deallocate() }

    /// Adds `bytes`. The corresponding C function is `crypto_generichash_update`.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        _ = crypto_generichash_update(OpaquePointer(state), base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The 32-byte digest. The corresponding C function is `crypto_generichash_final`.
    public func finish() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        crypto_generichash_final(OpaquePointer(state), &digest, 32)
        return digest
    }
}
