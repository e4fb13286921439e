/// What a successful verification established about the caller.
public struct VerifiedSignature: Sendable, Equatable {
    /// The `Signature-Input` / `Signature` label that was verified.
    public let label: String
    /// The keyid as received: unpadded base64url of `publicKey`.
    public let keyID: String
    /// The caller's raw 32-byte ed25519 public key.
    public let publicKey: [UInt8]
    /// The signature's `created` time.
    public let created: Int64
    /// The nonce, if the signature had one.
    public let nonce: String?
    /// The covered components, in signed order.
    public let components: [String]
}
