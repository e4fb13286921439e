import CSynSodium

/// Ed25519 signature verification (RFC 8032, libsodium's strict checks).
public enum Ed25519 {
    /// Public key length in bytes.
    public static let publicKeyLength = 32
    /// Detached signature length in bytes.
    public static let signatureLength = 64
    /// Seed (private scalar source) length in bytes.
    public static let seedLength = 32
    /// libsodium secret key length in bytes: seed followed by public key.
    public static let secretKeyLength = 64

    /// Whether `signature` is a valid signature of `message` by `publicKey`; false (never a crash) on wrong lengths.
    public static func verify(publicKey: [UInt8], message: [UInt8], signature: [UInt8]) -> Bool {
        guard publicKey.count == publicKeyLength, signature.count == signatureLength, Sodium.ready else {
            return false
        }
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), publicKey) == 0
    }

    /// Whether `signature` is a valid signature of `message` in `domain` by `publicKey`.
    public static func verify(publicKey: [UInt8], domain: SignatureDomain, message: [UInt8],
                              signature: [UInt8]) -> Bool {
        verify(publicKey: publicKey, message: domain.bytes(for: message), signature: signature)
    }

    /// Like `verify`, but throws `.badLength` or `.badSignature` explaining the refusal.
    public static func check(publicKey: [UInt8], domain: SignatureDomain, message: [UInt8],
                             signature: [UInt8]) throws(SodiumError) {
        guard publicKey.count == publicKeyLength else {
            throw SodiumError(.badLength, "public key is \(publicKey.count) bytes; expected \(publicKeyLength)")
        }
        guard signature.count == signatureLength else {
            throw SodiumError(.badLength, "signature is \(signature.count) bytes; expected \(signatureLength)")
        }
        try Sodium.initialize()
        guard verify(publicKey: publicKey, domain: domain, message: message, signature: signature) else {
            throw SodiumError(.badSignature,
                              "signature does not verify for \(domain) with key \(Hex.encode(publicKey))")
        }
    }
}
