import SynSodium

/// Server-side verification of RFC 9421 request signatures in Syneroym's profile (see docs/request-signing.md).
///
/// Profile: `alg` absent or `ed25519`; `keyid` is the unpadded base64url of the caller's raw ed25519 public key;
/// `created` required, at most `window` seconds old and at most `futureSkew` seconds ahead; components must include `@method`, `@authority` and
/// `@target-uri`, plus `content-digest` when the body is non-empty. Whenever a `Content-Digest` header is present
/// (covered or not) it must equal the body's sha-256. Nonces and (keyid, signature) pairs are remembered in the
/// shared `ReplayCache` for the window.
///
/// Several labels: members of `Signature-Input` are examined in order and the first that meets the profile is the
/// one verified (one ed25519 verification at most); if none does, the first member's refusal is reported.
public struct SignatureVerifier: Sendable {
    /// Components every signature must cover.
    public static let requiredComponents = ["@method", "@authority", "@target-uri"]

    /// Tunables.
    public struct Configuration: Sendable, Equatable {
        /// How old, in seconds, `created` may be (clamped to 0...86400).
        public let window: Int64
        /// How far ahead of now, in seconds, `created` may be (clamped to 0...window): a clock a little fast is
        /// forgiven, while a signature dated far ahead would hold a replay entry long after the window.
        public let futureSkew: Int64
        /// Size bounds on received values.
        public let limits: SignatureLimits

        public init(window: Int64 = 300, futureSkew: Int64 = 30, limits: SignatureLimits = SignatureLimits()) {
            self.window = min(max(0, window), 86_400)
            self.futureSkew = min(max(0, futureSkew), self.window)
            self.limits = limits
        }
    }

    public let configuration: Configuration
    /// Shared replay memory; pass the same instance to every verifier of a node.
    public let replayCache: ReplayCache

    public init(configuration: Configuration = Configuration(), replayCache: ReplayCache = ReplayCache()) {
        self.configuration = configuration
        self.replayCache = replayCache
    }

    /// Verifies `request`'s signature at time `now` (seconds since the Unix epoch) and records it against replay,
    /// charged to `source(keyid)` (the gateway says which keyids are owners and which client sent the request).
    ///
    /// Cheap checks run first (syntax, profile, time, digest, replay lookup); then one ed25519 verification; then
    /// the nonce and signature are remembered atomically (a concurrent replay of the same request loses).
    public func verify(_ request: SignedRequest, now: Int64,
                       source: (String) -> ReplaySource = { _ in .client("") }) throws(SignatureError) -> VerifiedSignature {
        let limits = configuration.limits
        let fields = request.signatureFields()
        guard let inputBytes = fields.input, !inputBytes.isEmpty else {
            throw SignatureError(.missingSignature, "the request has no Signature-Input header")
        }
        guard let signatureBytes = fields.signature, !signatureBytes.isEmpty else {
            throw SignatureError(.missingSignature, "the request has no Signature header")
        }
        guard inputBytes.count <= limits.maxSignatureInputBytes else {
            throw SignatureError(.malformed, "Signature-Input is \(inputBytes.count) bytes; at most "
                + "\(limits.maxSignatureInputBytes)")
        }
        guard signatureBytes.count <= limits.maxSignatureBytes else {
            throw SignatureError(.malformed, "Signature is \(signatureBytes.count) bytes; at most "
                + "\(limits.maxSignatureBytes)")
        }
        // The usual single canonical member is read in one pass; anything else takes the full parser (see
        // SignatureInputShortcut: same outcome either way).
        let shortcut = SignatureInputShortcut.parse(inputBytes, limits: limits)
        let inputs = shortcut != nil ? [] : try StructuredFieldParser.dictionary(
            inputBytes, field: "Signature-Input", maxMembers: limits.maxLabels, maxItems: limits.maxComponents,
            maxParameters: limits.maxParameters)
        let signatures = try StructuredFieldParser.dictionary(
            signatureBytes, field: "Signature", maxMembers: limits.maxLabels, maxItems: 1,
            maxParameters: limits.maxParameters)

        let label: String
        let parameters: SignatureParameters
        let publicKey: [UInt8]
        if let shortcut {
            // As `select` does for a single member.
            try checkCoverage(shortcut.parameters, label: shortcut.label, request: request)
            (label, parameters, publicKey) = (shortcut.label, shortcut.parameters,
                                              try self.publicKey(shortcut.parameters.keyID))
        } else {
            guard !inputs.isEmpty else { throw SignatureError(.missingSignature, "Signature-Input has no members") }
            (label, parameters, publicKey) = try select(inputs, request: request)
        }
        guard let member = signatures.first(where: { $0.key == label }) else {
            throw SignatureError(.malformed, "Signature has no member labelled \(Excerpt.quote(label)) to match "
                + "Signature-Input")
        }
        guard case .item(let item) = member.value, case .bytes(let signature) = item.value else {
            throw SignatureError(.malformed, "Signature \(Excerpt.quote(label)) is not a byte sequence (:base64:)")
        }
        guard signature.count == Ed25519.signatureLength else {
            throw SignatureError(.malformed, "Signature \(Excerpt.quote(label)) is \(signature.count) bytes; an "
                + "ed25519 signature is \(Ed25519.signatureLength)")
        }
        try checkTime(parameters, now: now)
        try checkDigest(parameters, header: fields.contentDigest, body: request.body, bodyDigest: request.bodyDigest)

        let keys = replayCache.keys(keyID: parameters.keyID, nonce: parameters.nonce, signature: signature)
        let charged = source(parameters.keyID)
        try replayCache.probe(keys, now: now, source: charged)

        let base = try SignatureBase.build(components: parameters.components,
                                           signatureParams: parameters.serializedBytes, request: request,
                                           limits: limits)
        guard Ed25519.verify(publicKey: publicKey, message: base, signature: signature) else {
            throw SignatureError(.badSignature, "signature \(Excerpt.quote(label)) does not verify with keyid "
                + "\(Excerpt.quote(parameters.keyID)) over the signature base (\(base.count) bytes; first line "
                + "\(Excerpt.quote(base.prefix { $0 != 0x0a }, limit: 64)))")
        }
        try replayCache.insert(keys, expiry: parameters.created + configuration.window, now: now, source: charged)
        return VerifiedSignature(label: label, keyID: parameters.keyID, publicKey: publicKey,
                                 created: parameters.created, nonce: parameters.nonce,
                                 components: parameters.components)
    }

    /// The first member meeting the profile, with its decoded key; else the first member's refusal.
    private func select(_ inputs: [SFDictionaryMember],
                        request: SignedRequest) throws(SignatureError) -> (String, SignatureParameters, [UInt8]) {
        var firstError: SignatureError?
        for member in inputs {
            do {
                let parameters = try SignatureParameters(member: member, limits: configuration.limits)
                try checkCoverage(parameters, label: member.key, request: request)
                let key = try publicKey(parameters.keyID)
                return (member.key, parameters, key)
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        throw firstError ?? SignatureError(.missingSignature, "Signature-Input has no members")
    }

    private func checkCoverage(_ parameters: SignatureParameters, label: String,
                               request: SignedRequest) throws(SignatureError) {
        let components = parameters.components
        let needsDigest = !request.body.isEmpty
        if components.contains("@method") && components.contains("@authority") && components.contains("@target-uri")
            && (!needsDigest || components.contains("content-digest")) {
            return
        }
        var required = Self.requiredComponents
        if needsDigest { required.append("content-digest") }
        let missing = required.filter { !components.contains($0) }
        let note = missing.contains("content-digest") ? " (the request has a body)" : ""
        throw SignatureError(.missingComponent, "signature \(Excerpt.quote(label)) does not cover "
            + missing.map { "\"\($0)\"" }.joined(separator: ", ") + note + "; required: "
            + required.map { "\"\($0)\"" }.joined(separator: " "))
    }

    /// The raw public key named by `keyID`.
    private func publicKey(_ keyID: String) throws(SignatureError) -> [UInt8] {
        guard keyID.utf8.count == 43, let key = Base64URL.decode(keyID), key.count == Ed25519.publicKeyLength else {
            throw SignatureError(.badKey, "keyid \(Excerpt.quote(keyID)) is not the unpadded base64url of a 32-byte "
                + "ed25519 public key (43 characters)")
        }
        return key
    }

    private func checkTime(_ parameters: SignatureParameters, now: Int64) throws(SignatureError) {
        let window = configuration.window, ahead = configuration.futureSkew
        let created = parameters.created
        if created > now + ahead {
            throw SignatureError(.stale, "created \(created) is \(created - now) s in the future; at most \(ahead) s "
                + "ahead of the server time \(now) is accepted (check the client's clock)")
        }
        if created < now - window {
            throw SignatureError(.stale, "created \(created) is \(now - created) s in the past; at most \(window) s old "
                + "is accepted (server time \(now))")
        }
        if let expires = parameters.expires, expires < now {
            throw SignatureError(.stale, "signature expired at \(expires); server time is \(now)")
        }
    }

    /// Hashes the body once and checks any `Content-Digest` against it.
    private func checkDigest(_ parameters: SignatureParameters, header: [UInt8]?,
                             body: [UInt8], bodyDigest: [UInt8]?) throws(SignatureError) {
        let covered = parameters.components.contains("content-digest")
        guard let header else {
            if covered {
                throw SignatureError(.missingComponent, "content-digest is covered but the request has no "
                    + "Content-Digest header")
            }
            return
        }
        try ContentDigest.check(header, digest: bodyDigest ?? Hash.sha256(body), limits: configuration.limits)
    }
}
