/// An ed25519 public key as RFC 7250 raw public keys carry it: its SubjectPublicKeyInfo (RFC 8410), a fixed prefix
/// before the 32 key bytes, so it is written and checked here byte for byte rather than through an ASN.1 parser.
public enum RawPublicKey {
    /// `SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (32 bytes) }`.
    static let spkiPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

    /// The DER SubjectPublicKeyInfo of an ed25519 public key.
    public static func spki(_ publicKey: [UInt8]) -> [UInt8] { spkiPrefix + publicKey }

    /// The ed25519 public key in a DER SubjectPublicKeyInfo, or nil for anything else (another algorithm, extra
    /// bytes, a certificate).
    public static func ed25519Key(spki der: [UInt8]) -> [UInt8]? {
        guard der.count == spkiPrefix.count + 32, der.starts(with: spkiPrefix) else { return nil }
        return Array(der.suffix(32))
    }
}
