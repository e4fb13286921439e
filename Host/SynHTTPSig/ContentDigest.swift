import SynSodium
import SynSodium

/// RFC 9530 `Content-Digest` with sha-256: `sha-256=:<padded standard base64 of SHA-256(body)>:`.
public enum ContentDigest {
    /// The only algorithm key accepted.
    public static let algorithm = "sha-256"

    /// The `Content-Digest` value for `body`.
    public static func header(for body: [UInt8]) -> String { header(digest: Hash.sha256(body)) }

    /// The `Content-Digest` value for an already computed SHA-256 `digest`.
    static func header(digest: [UInt8]) -> String { "\(algorithm)=:\(Base64.encode(digest)):" }

    /// Checks that the field value `bytes` is exactly one `sha-256` member whose bytes equal `digest` (the body's
    /// SHA-256). Throws `.digestMismatch` naming what differs.
    static func check(_ bytes: [UInt8], digest: [UInt8], limits: SignatureLimits) throws(SignatureError) {
        guard bytes.count <= limits.maxContentDigestBytes else {
            throw SignatureError(.digestMismatch,
                                 "Content-Digest is \(bytes.count) bytes; at most \(limits.maxContentDigestBytes)")
        }
        let members: [SFDictionaryMember]
        do {
            members = try StructuredFieldParser.dictionary(bytes, field: "Content-Digest", maxMembers: 4, maxItems: 1,
                                                           maxParameters: 4)
        } catch {
            throw SignatureError(.digestMismatch, error.message)
        }
        guard members.count == 1, let member = members.first, member.key == algorithm else {
            let keys = members.map(\.key).joined(separator: ",")
            throw SignatureError(.digestMismatch, "Content-Digest must hold exactly one member, \(algorithm); "
                + "found \(Excerpt.quote(keys))")
        }
        guard case .item(let item) = member.value, case .bytes(let received) = item.value else {
            throw SignatureError(.digestMismatch, "Content-Digest \(algorithm) is not a byte sequence (:base64:)")
        }
        guard received.count == digest.count else {
            throw SignatureError(.digestMismatch, "Content-Digest \(algorithm) is \(received.count) bytes; "
                + "a SHA-256 digest is \(digest.count)")
        }
        guard Sodium.constantTimeEqual(received, digest) else {
            throw SignatureError(.digestMismatch, "Content-Digest does not match the body: the body's digest is "
                + "\(header(digest: digest))")
        }
    }
}
