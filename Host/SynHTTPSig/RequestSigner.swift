import SynSodium
public import SynSodium

/// Client-side signing in Syneroym's profile, for the CLI: covers `@method`, `@authority`, `@target-uri`, and
/// `content-digest` when the body is non-empty; parameters `created`, `keyid`, `alg="ed25519"` and `nonce`.
public struct RequestSigner: Sendable {
    public let key: SigningKey
    /// The dictionary label used in `Signature-Input` and `Signature`.
    public let label: String

    /// A signer using `key`, labelling its signature `label` (a lowercase RFC 8941 key).
    public init(key: SigningKey, label: String = "sig1") {
        self.key = key
        self.label = label
    }

    /// The keyid for `publicKey`: unpadded base64url of the raw 32 bytes.
    public static func keyID(for publicKey: [UInt8]) -> String { Base64URL.encode(publicKey) }

    /// A fresh nonce: unpadded base64url of 16 random bytes.
    public static func randomNonce() -> String { Base64URL.encode(SecureRandom.bytes(16)) }

    /// Signs a request for absolute `url`, created at `created` (seconds since the Unix epoch).
    ///
    /// The HTTP client must send `Host` exactly as the URL's authority, the path and query exactly as in `url`,
    /// and the body bytes unchanged. Throws `.malformed` for an unusable URL, method, label or nonce.
    public func sign(method: String, url: String, body: [UInt8] = [], created: Int64,
                     nonce: String? = RequestSigner.randomNonce()) throws(SignatureError) -> SignedHeaders {
        guard Self.isKey(label) else {
            throw SignatureError(.malformed, "label \(Excerpt.quote(label)) is not a lowercase RFC 8941 key")
        }
        if let nonce, nonce.isEmpty || nonce.utf8.count > 256 || !nonce.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) {
            throw SignatureError(.malformed, "nonce must be 1–256 printable ASCII characters")
        }
        guard created >= 0 else { throw SignatureError(.malformed, "created must be non-negative") }
        let digest = body.isEmpty ? nil : ContentDigest.header(for: body)
        var headers: [HTTPField] = []
        if let digest { headers.append(HTTPField(name: "Content-Digest", value: digest)) }
        let request = try SignedRequest(method: method, url: url, headers: headers, body: body)
        var components = SignatureVerifier.requiredComponents
        if digest != nil { components.append("content-digest") }
        let parameters = SignatureParameters(components: components, created: created,
                                             keyID: Self.keyID(for: key.publicKey), nonce: nonce)
        let base = try SignatureBase.build(components: components, signatureParams: parameters.serialized,
                                           request: request)
        let signature = key.sign(base)
        return SignedHeaders(signatureInput: label + "=" + parameters.serialized,
                             signature: label + "=:" + Base64.encode(signature) + ":", contentDigest: digest)
    }

    private static func isKey(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, (first >= 0x61 && first <= 0x7a) || first == 0x2a, bytes.count <= 64 else {
            return false
        }
        return bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || "_-.*".utf8.contains($0) }
    }
}
