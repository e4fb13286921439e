import CSynSodium

/// A 32-byte symmetric key (a backup's), held in guarded memory (`SecretBuffer`) and never printed.
public final class SecretKey: Sendable, CustomStringConvertible {
    public static let length = 32
    let buffer: SecretBuffer

    /// Adopts `bytes` (exactly 32) as a key. The caller should wipe its copy.
    public init(bytes: [UInt8]) throws(SodiumError) {
        guard bytes.count == Self.length else {
            throw SodiumError(.badLength, "a key is \(Self.length) bytes; got \(bytes.count)")
        }
        buffer = try SecretBuffer(count: Self.length) { p in
            for i in 0..<Self.length { p[i] = bytes[i] }
        }
    }

    /// A fresh random key.
    public static func generate() throws(SodiumError) -> SecretKey {
        var bytes = SecureRandom.bytes(length)
        defer { sodium_memzero(&bytes, bytes.count) }
        return try SecretKey(bytes: bytes)
    }

    /// Derives a key from a passphrase with Argon2id (`crypto_pwhash`, `crypto_pwhash_ALG_ARGON2ID13`), under
    /// `salt` (16 bytes) and the given costs. The corresponding C function is `crypto_pwhash`.
    public static func derive(passphrase: [UInt8], salt: [UInt8], opsLimit: UInt64, memLimit: Int) throws(SodiumError) -> SecretKey {
        try Sodium.initialize()
        guard salt.count == Int(crypto_pwhash_SALTBYTES) else {
            throw SodiumError(.badLength, "an Argon2id salt is \(crypto_pwhash_SALTBYTES) bytes; got \(salt.count)")
        }
        guard opsLimit >= UInt64(crypto_pwhash_OPSLIMIT_MIN), opsLimit <= 16,
              memLimit >= Int(crypto_pwhash_MEMLIMIT_MIN), memLimit <= 1 << 30 else {
            throw SodiumError(.format, "Argon2id costs out of bounds (ops \(opsLimit), memory \(memLimit) bytes); at most 16 passes and 1 GiB")
        }
        guard !passphrase.isEmpty else { throw SodiumError(.format, "the passphrase is empty") }
        let buffer = try SecretBuffer(count: length) { (out) throws(SodiumError) in
            let chars = passphrase.map { CChar(bitPattern: $0) }
            let rc = crypto_pwhash(out, UInt64(length), chars, UInt64(chars.count), salt, opsLimit, memLimit,
                                   crypto_pwhash_ALG_ARGON2ID13)
            guard rc == 0 else { throw SodiumError(.initFailed, "Argon2id ran out of memory (\(memLimit >> 20) MiB)") }
        }
        return SecretKey(buffer: buffer)
    }

    /// Argon2id costs for backups: moderate enough for a Raspberry Pi (3 passes, 64 MiB).
    public static let backupOpsLimit = UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE)
    public static let backupMemLimit = Int(crypto_pwhash_MEMLIMIT_INTERACTIVE)
    public static let saltLength = Int(crypto_pwhash_SALTBYTES)

    private init(buffer: SecretBuffer) { self.buffer = buffer }

    /// A short public fingerprint of the key (BLAKE2b of it under a fixed label), to tell keys apart without
    /// revealing them.
    public var fingerprint: String {
        buffer.withPointer { p in
            let bytes = Array(UnsafeBufferPointer(start: p, count: Self.length))
            return Hex.encode(Array(Hash.blake2b(Array("syneroym-backup-key-id".utf8) + bytes, length: 16).prefix(8)))
        }
    }

    public var description: String { "SecretKey(\(fingerprint))" }
}
