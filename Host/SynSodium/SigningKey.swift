import CSynSodium

/// An ed25519 key pair whose secret half never leaves this object (sodium_malloc'd, zeroed on deinit).
///
/// Immutable after init, so one instance is safe to share across threads. Its description, debug description and
/// mirror show only the public key.
public final class SigningKey: @unchecked Sendable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable {
    /// The 32-byte public key.
    public let publicKey: [UInt8]
    /// The 64-byte libsodium secret key (seed + public key).
    let secret: SecretBuffer

    /// Wraps a 64-byte libsodium secret key whose public half is `publicKey`.
    init(secret: SecretBuffer, publicKey: [UInt8]) {
        self.secret = secret
        self.publicKey = publicKey
    }

    /// A fresh key pair from the system's secure random source.
    public static func generate() throws(SodiumError) -> SigningKey {
        var publicKey = [UInt8](repeating: 0, count: Ed25519.publicKeyLength)
        let secret = try SecretBuffer(count: Ed25519.secretKeyLength) { (sk) throws(SodiumError) in
            let status = crypto_sign_keypair(&publicKey, sk)
            guard status == 0 else { throw SodiumError(.initFailed, "crypto_sign_keypair failed") }
        }
        return SigningKey(secret: secret, publicKey: publicKey)
    }

    /// Adopts a 64-byte libsodium secret key already in guarded memory, checking that its public half is the one
    /// derived from its seed. Throws `.badLength` or `.badKey`; messages never include key bytes.
    static func adopt(_ secret: SecretBuffer, source: String) throws(SodiumError) -> SigningKey {
        guard secret.count == Ed25519.secretKeyLength else {
            throw SodiumError(.badLength, "\(source): secret key is \(secret.count) bytes; expected 64")
        }
        var derived = [UInt8](repeating: 0, count: Ed25519.publicKeyLength)
        let scratch = try SecretBuffer(count: Ed25519.secretKeyLength) { (sk) throws(SodiumError) in
            let status = secret.withPointer { stored in crypto_sign_seed_keypair(&derived, sk, stored) }
            guard status == 0 else { throw SodiumError(.badKey, "\(source): cannot derive key pair from seed") }
        }
        _ = scratch
        let stored = secret.withPointer {
            Array(UnsafeBufferPointer(start: $0 + Ed25519.seedLength, count: Ed25519.publicKeyLength))
        }
        guard Sodium.constantTimeEqual(stored, derived) else {
            throw SodiumError(.badKey, "\(source): public half does not match the seed; the key is corrupt")
        }
        return SigningKey(secret: secret, publicKey: derived)
    }

    /// A 64-byte detached signature over the raw `message`.
    ///
    /// Raw signatures are not domain-separated: anything that signs on behalf of an app or the node must use
    /// `sign(domain:_:)`, and code that exposes signing to apps must never offer this method.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: Ed25519.signatureLength)
        secret.withPointer { sk in
            _ = crypto_sign_detached(&signature, nil, message, UInt64(message.count), sk)
        }
        return signature
    }

    /// A 64-byte detached signature over `message` bound to `domain` (see `SignatureDomain`).
    public func sign(domain: SignatureDomain, _ message: [UInt8]) -> [UInt8] {
        sign(domain.bytes(for: message))
    }

    /// The public key as lowercase hex.
    public var publicKeyHex: String { Hex.encode(publicKey) }

    /// `SigningKey(public: <hex>)`; never the secret.
    public var description: String { "SigningKey(public: \(publicKeyHex))" }
    /// Same as `description`.
    public var debugDescription: String { description }
    /// Shows only the public key, so `dump` and debuggers never see the secret.
    public var customMirror: Mirror { Mirror(self, children: ["publicKey": publicKeyHex], displayStyle: .class) }
}
