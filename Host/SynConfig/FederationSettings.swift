/// `node.toml [federation]`: where the node accepts links from other nodes, whom it accepts, and each link's
/// limits. Without `listen` the node accepts no link (it may still dial the peers its owner added).
///
/// ```toml
/// [federation]
/// listen = "127.0.0.1:7421"   # host:port for links from other nodes ("0.0.0.0:7421" to accept from the LAN)
/// accept = []                 # node ids that may connect besides the added peers; ["*"] accepts any node
/// max_frame_kb = 128          # the largest link frame accepted
/// window = 256                # unacknowledged messages a peer may have in flight on a link
/// max_links = 64              # links open at once, in and out
/// max_frames_per_s = 5000     # frames one peer may send a second (bursts of twice that); past it its link closes
/// ping_s = 15                  # seconds between pings; a link that misses three is closed and dialled again
/// ```
public struct FederationSettings: Sendable, Equatable {
    public var listen: String?
    /// Node ids (base64url public keys) allowed to connect besides the added peers; `["*"]` accepts any node.
    public var accept: [String] = []
    public var maxFrameKB = 128
    public var window = 256
    public var maxLinks = 64
    public var maxFramesPerSecond = 5000
    /// Seconds between a link's pings (and audit heads); three unanswered close it, so a cut link is noticed in
    /// about three times this.
    public var pingSeconds = 15

    public init() {}

    /// Whether a node that is not an added peer may connect.
    public func acceptsUnknown(_ nodeID: String) -> Bool { accept.contains("*") || accept.contains(nodeID) }

    /// The `listen` address split into host and port.
    public var hostAndPort: (host: String, port: Int)? { listen.flatMap(GatewaySettings.split) }

    static let keys = ["listen", "accept", "max_frame_kb", "window", "max_links", "max_frames_per_s", "ping_s"]

    static func parse(_ table: TableReader) throws(ConfigError) -> FederationSettings {
        var f = FederationSettings()
        if let listen = try table.string("listen") {
            f.listen = listen
            guard f.hostAndPort != nil else {
                throw table.error(.badValue, "listen", "federation.listen must be host:port, e.g. \"127.0.0.1:7421\", got \"\(listen)\"")
            }
        }
        if let accept = try table.strings("accept") {
            for (index, id) in accept.enumerated() where id != "*" && !NameRules.isNodeID(id) {
                throw table.error(.badValue, "accept", element: index,
                                  "federation.accept entries are node ids (43 base64url characters, as `syneroym keys show` prints them) or \"*\", got \"\(id)\"")
            }
            f.accept = accept
        }
        f.maxFrameKB = try table.integer("max_frame_kb", in: 80...16_384) ?? f.maxFrameKB
        f.window = try table.integer("window", in: 1...65_536) ?? f.window
        f.maxLinks = try table.integer("max_links", in: 1...10_000) ?? f.maxLinks
        f.maxFramesPerSecond = try table.integer("max_frames_per_s", in: 10...10_000_000) ?? f.maxFramesPerSecond
        f.pingSeconds = try table.integer("ping_s", in: 1...300) ?? f.pingSeconds
        return f
    }
}
