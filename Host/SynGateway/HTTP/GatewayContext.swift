public import Hummingbird
public import NIOCore

/// Per-request context: the request id (accepted or generated) and the verified caller, if the request was signed.
public struct GatewayContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `RequestIDMiddleware`, the outermost middleware.
    public var requestID = ""
    /// The caller's raw ed25519 public key, once a signature verified; empty for unsigned requests.
    public var caller: [UInt8] = []
    /// The connection, to close it after a 413 rather than read the rest of an oversized upload.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Our handlers collect bodies with the node's own limit (`[gateway] max_body_kb`); this only bounds
    /// Hummingbird's decode helpers, which we do not use.
    public var maxUploadSize: Int { 1 << 20 }
}
