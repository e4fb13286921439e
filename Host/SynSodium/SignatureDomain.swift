/// What a signature is bound to.
///
/// The signed bytes are `"syneroym-sig-v1\0"` + u8 kind + u32le(len(id)) + id + message, so a signature in one
/// domain never verifies in another (node vs app, app A vs app B), and no concatenation is ambiguous.
public enum SignatureDomain: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Signatures made by the node itself (audit checkpoints, node statements).
    case node
    /// Signatures made on behalf of the app with this id.
    case app(String)
    /// A person's signature over one call from an app to another app's method (`app_call`, ABI minor 1).
    case appCall
    /// A developer's signature over a SynApp package's header (`.synapp`), which names the app and every file's
    /// hash: a package signature never verifies as an app's or a node's statement, nor the other way round.
    case package

    /// The 16-byte version tag that starts every domain-separated message.
    public static let tag: [UInt8] = Array("syneroym-sig-v1".utf8) + [0]

    /// The kind byte: 1 for the node, 2 for an app, 3 for a person's signed app call, 4 for a package.
    public var kind: UInt8 {
        switch self {
        case .node: 1
        case .app: 2
        case .appCall: 3
        case .package: 4
        }
    }

    /// The identifier bound into the signature: empty for the node, the app id for an app.
    public var identifier: [UInt8] {
        switch self {
        case .node, .appCall, .package: []
        case .app(let id): Array(id.utf8)
        }
    }

    /// The bytes actually signed for `message` in this domain.
    ///
    /// The id length is a u32; ids longer than 4 GiB are not representable and are clamped (never reached in
    /// practice: app ids are short names).
    public func bytes(for message: [UInt8]) -> [UInt8] {
        let id = identifier
        let length = UInt32(clamping: id.count)
        var out = Self.tag
        out.reserveCapacity(Self.tag.count + 5 + id.count + message.count)
        out.append(kind)
        for shift in stride(from: 0, to: 32, by: 8) {
            out.append(UInt8(truncatingIfNeeded: length >> UInt32(shift)))
        }
        out.append(contentsOf: id)
        out.append(contentsOf: message)
        return out
    }

    /// `node` or `app(<id>)`.
    public var description: String {
        switch self {
        case .node: "node"
        case .app(let id): "app(\(id))"
        case .appCall: "app-call"
        case .package: "package"
        }
    }
}
