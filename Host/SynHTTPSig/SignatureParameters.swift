/// One signature's covered components and parameters (a `Signature-Input` member), validated for this profile.
public struct SignatureParameters: Sendable, Equatable {
    /// Covered component identifiers, in signed order.
    public let components: [String]
    /// `created`, seconds since the Unix epoch.
    public let created: Int64
    /// `expires`, if present.
    public let expires: Int64?
    /// `keyid`: unpadded base64url of the raw 32-byte ed25519 public key.
    public let keyID: String
    /// `alg`, if present (always `ed25519` once validated).
    public let algorithm: String?
    /// `nonce`, if present.
    public let nonce: String?
    /// `tag`, if present.
    public let tag: String?
    /// The canonical RFC 8941 serialisation: the `@signature-params` value.
    public var serialized: String { String(decoding: serializedBytes, as: UTF8.self) }
    /// `serialized` as bytes: for a received member, the received bytes themselves (checked canonical).
    let serializedBytes: ArraySlice<UInt8>

    /// Whether `name` is a parameter this profile accepts (any other is refused).
    static func isKnownParameter(_ name: String) -> Bool {
        switch name {
        case "created", "expires", "keyid", "alg", "nonce", "tag": true
        default: false
        }
    }

    /// Parameters for a new signature, in the order `created`, `keyid`, `alg`, `nonce`.
    init(components: [String], created: Int64, keyID: String, nonce: String?) {
        var parameters = [
            SFParameter(key: "created", value: .integer(created)),
            SFParameter(key: "keyid", value: .string(keyID)),
            SFParameter(key: "alg", value: .string("ed25519")),
        ]
        if let nonce { parameters.append(SFParameter(key: "nonce", value: .string(nonce))) }
        self.components = components
        self.created = created
        self.expires = nil
        self.keyID = keyID
        self.algorithm = "ed25519"
        self.nonce = nonce
        self.tag = nil
        var sink = ByteSink()
        StructuredFieldSerializer.writeInnerList(components.map { SFItem(value: .string($0), parameters: []) },
                                                 parameters: parameters, to: &sink)
        self.serializedBytes = sink.bytes[...]
    }

    /// Parameters already validated by `SignatureInputShortcut`.
    init(components: [String], created: Int64, expires: Int64?, keyID: String, algorithm: String?, nonce: String?,
         tag: String?, serializedBytes: ArraySlice<UInt8>) {
        self.components = components
        self.created = created
        self.expires = expires
        self.keyID = keyID
        self.algorithm = algorithm
        self.nonce = nonce
        self.tag = tag
        self.serializedBytes = serializedBytes
    }

    /// Validates one received `Signature-Input` member.
    ///
    /// Refuses (`.malformed`) a non-inner-list, components that are not plain lowercase strings (component
    /// parameters such as `;sf` or `;req` are not supported), duplicates, unknown or mistyped parameters, a missing
    /// `created` or `keyid`, and a member whose received bytes differ from their canonical serialisation (so the
    /// signed `@signature-params` line is unambiguous); refuses (`.unsupportedAlgorithm`) any `alg` but `ed25519`.
    init(member: SFDictionaryMember, limits: SignatureLimits) throws(SignatureError) {
        var label: String { Excerpt.quote(member.key) }   // only built for a refusal
        guard case .innerList(let items, let parameters) = member.value else {
            throw SignatureError(.malformed, "Signature-Input \(label) is not an inner list of components")
        }
        var components: [String] = []
        components.reserveCapacity(items.count)
        for item in items {
            guard case .string(let name) = item.value, item.parameters.isEmpty else {
                throw SignatureError(.malformed, "Signature-Input \(label): every component must be a plain quoted "
                    + "string without parameters; got \(Excerpt.quote(StructuredFieldSerializer.item(item)))")
            }
            guard !name.isEmpty, !HeaderName.hasUppercase(name) else {
                throw SignatureError(.malformed, "Signature-Input \(label): component \(Excerpt.quote(name)) must be "
                    + "non-empty and lowercase")
            }
            if SignatureBase.isDerivedName(name) && !SignatureBase.isSupportedDerived(name) {
                throw SignatureError(.malformed, "Signature-Input \(label): derived component \(Excerpt.quote(name)) "
                    + "is not supported")
            }
            guard !components.contains(name) else {
                throw SignatureError(.malformed, "Signature-Input \(label): component \(Excerpt.quote(name)) is "
                    + "listed twice")
            }
            components.append(name)
        }
        var created: Int64?
        var expires: Int64?
        var keyID: String?
        var algorithm: String?
        var nonce: String?
        var tag: String?
        for parameter in parameters {
            let name = parameter.key
            guard Self.isKnownParameter(name) else {
                throw SignatureError(.malformed, "Signature-Input \(label): unknown parameter \(Excerpt.quote(name)); "
                    + "accepted: alg, created, expires, keyid, nonce, tag")
            }
            switch (name, parameter.value) {
            case ("created", .integer(let value)) where value >= 0: created = value
            case ("expires", .integer(let value)) where value >= 0: expires = value
            case ("keyid", .string(let value)): keyID = try Self.bounded(value, name, member.key, limits)
            case ("alg", .string(let value)): algorithm = value
            case ("nonce", .string(let value)): nonce = try Self.bounded(value, name, member.key, limits)
            case ("tag", .string(let value)): tag = try Self.bounded(value, name, member.key, limits)
            case ("created", _), ("expires", _):
                throw SignatureError(.malformed, "Signature-Input \(label): \(name) must be a non-negative integer "
                    + "(seconds since the Unix epoch)")
            default:
                throw SignatureError(.malformed, "Signature-Input \(label): \(name) must be a quoted string")
            }
        }
        if let algorithm, algorithm != "ed25519" {
            throw SignatureError(.unsupportedAlgorithm, "Signature-Input \(label): alg \(Excerpt.quote(algorithm)) is "
                + "not supported; only \"ed25519\"")
        }
        guard let created else {
            throw SignatureError(.malformed, "Signature-Input \(label): the created parameter is required")
        }
        guard let keyID else {
            throw SignatureError(.malformed, "Signature-Input \(label): the keyid parameter is required")
        }
        guard StructuredFieldSerializer.isCanonicalInnerList(member.raw, items: items, parameters: parameters) else {
            let canonical = StructuredFieldSerializer.innerList(items, parameters: parameters)
            throw SignatureError(.malformed, "Signature-Input \(label) is not in canonical RFC 8941 form: received "
                + "\(Excerpt.quote(member.raw, limit: 96)); canonical is \(Excerpt.quote(canonical, limit: 96))")
        }
        self.components = components
        self.created = created
        self.expires = expires
        self.keyID = keyID
        self.algorithm = algorithm
        self.nonce = nonce
        self.tag = tag
        self.serializedBytes = member.raw
    }

    private static func bounded(_ value: String, _ name: String, _ key: String,
                                _ limits: SignatureLimits) throws(SignatureError) -> String {
        guard !value.isEmpty, value.utf8.count <= limits.maxParameterStringBytes else {
            throw SignatureError(.malformed, "Signature-Input \(Excerpt.quote(key)): \(name) is empty or longer than "
                + "\(limits.maxParameterStringBytes) bytes")
        }
        return value
    }
}
