/// Bounds applied to every received value before and while it is parsed.
public struct SignatureLimits: Sendable, Equatable {
    /// Maximum bytes of the combined `Signature-Input` value.
    public var maxSignatureInputBytes = 4096
    /// Maximum bytes of the combined `Signature` value.
    public var maxSignatureBytes = 4096
    /// Maximum bytes of the combined `Content-Digest` value.
    public var maxContentDigestBytes = 512
    /// Maximum labels (dictionary members) in `Signature-Input` or `Signature`.
    public var maxLabels = 4
    /// Maximum covered components in one signature.
    public var maxComponents = 16
    /// Maximum signature parameters in one signature.
    public var maxParameters = 8
    /// Maximum bytes of one covered component's value.
    public var maxComponentValueBytes = 8192
    /// Maximum bytes of `keyid`, `nonce` and `tag` values.
    public var maxParameterStringBytes = 256

    public init() {}
}
