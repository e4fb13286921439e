/// A refused request signature: a stable code plus a message saying exactly what was wrong.
///
/// Messages quote at most a short, sanitised prefix of any received value (see `Excerpt`), never key material.
public struct SignatureError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Stable machine-readable reasons.
    public enum Code: String, Sendable, CaseIterable {
        /// No `Signature-Input` or no `Signature` header.
        case missingSignature
        /// A header is not valid RFC 8941 / RFC 9421 syntax, too large, or otherwise unusable.
        case malformed
        /// `alg` names something other than `ed25519`.
        case unsupportedAlgorithm
        /// A required component is not covered, or a covered header is absent from the request.
        case missingComponent
        /// `Content-Digest` is absent, unparseable or does not match the body.
        case digestMismatch
        /// `created` (or `expires`) lies outside the accepted window.
        case stale
        /// The nonce, or the (keyid, signature) pair, was already seen within the window.
        case replay
        /// `keyid` is not the unpadded base64url of a 32-byte ed25519 public key.
        case badKey
        /// The ed25519 signature does not verify over the signature base.
        case badSignature
        /// The replay cache has no room that may be given up; the request is refused rather than forgetting
        /// earlier ones.
        case cacheFull
        /// This client (one address, or one IPv6 /64) already holds its share of the replay cache.
        case clientBudget

        /// The snake_case string a gateway puts in `{"error":{"code":...}}`, e.g. `signature_stale`.
        public var wireCode: String {
            switch self {
            case .missingSignature: "signature_missing"
            case .malformed: "signature_malformed"
            case .unsupportedAlgorithm: "signature_unsupported_algorithm"
            case .missingComponent: "signature_missing_component"
            case .digestMismatch: "signature_digest_mismatch"
            case .stale: "signature_stale"
            case .replay: "signature_replay"
            case .badKey: "signature_bad_key"
            case .badSignature: "signature_bad_signature"
            case .cacheFull: "signature_cache_full"
            case .clientBudget: "signature_client_budget"
            }
        }

        /// The HTTP status a gateway should answer with: 503 for `.cacheFull` (server overload), 429 for
        /// `.clientBudget` (this client is sending too much), else 401.
        public var httpStatus: Int { self == .cacheFull ? 503 : self == .clientBudget ? 429 : 401 }
    }

    public let code: Code
    /// What exactly was wrong, for the caller.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `wireCode: message`.
    public var description: String { "\(code.wireCode): \(message)" }
}
