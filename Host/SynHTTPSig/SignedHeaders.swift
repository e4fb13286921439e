/// The header values a signed request carries.
public struct SignedHeaders: Sendable, Equatable {
    /// `Signature-Input` value, e.g. `sig1=("@method" "@authority" "@target-uri");created=…;keyid="…";alg="ed25519"`.
    public let signatureInput: String
    /// `Signature` value, e.g. `sig1=:<base64>:`.
    public let signature: String
    /// `Content-Digest` value, present when the body is non-empty.
    public let contentDigest: String?

    public init(signatureInput: String, signature: String, contentDigest: String?) {
        self.signatureInput = signatureInput
        self.signature = signature
        self.contentDigest = contentDigest
    }

    /// The three (or two) header fields, ready to add to the request.
    public var fields: [HTTPField] {
        var out: [HTTPField] = []
        if let contentDigest { out.append(HTTPField(name: "Content-Digest", value: contentDigest)) }
        out.append(HTTPField(name: "Signature-Input", value: signatureInput))
        out.append(HTTPField(name: "Signature", value: signature))
        return out
    }
}
