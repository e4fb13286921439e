#if canImport(Glibc)
import Glibc
#endif

/// The HTTP gateway's settings, `[gateway]` in node.toml. Every limit the gateway enforces is here.
public struct GatewaySettings: Sendable, Equatable {
    /// Where the gateway listens (`host:port`).
    public var listen = "127.0.0.1:7420"
    /// Largest request body accepted; larger ones get 413.
    public var maxBodyKB = 1024
    /// How long the gateway waits for an app's answer before 504 (the app's own profile may stop it sooner).
    public var requestTimeoutMs = 30_000
    /// The `Retry-After` seconds sent with 503 when an app's queue is full.
    public var retryAfterS = 1
    /// How old a signature's `created` may be.
    public var signatureWindowS = 300
    /// How far ahead of the node's clock a signature's `created` may be.
    public var signatureFutureS = 30
    /// Nonces and signatures remembered against replay for clients, at most (owners' are not counted).
    public var replayCacheEntries = 100_000
    /// How many of those one client (an address; an IPv6 /64) may hold; nil: 1% of `replayCacheEntries`.
    public var replayEntriesPerClient: Int?
    /// The names this node answers to besides its listen address (`host` or `host:port`, e.g. `guild.example`
    /// behind a proxy): a signed request's `@authority` must be one of them.
    public var names: [String] = []
    /// Names this node is reached by through a proxy that terminates TLS (`host` or `host:port`): accepted as
    /// `names` are, and a request for one is checked as `https`, as the browser signed it.
    public var tlsNames: [String] = []
    /// Addresses of reverse proxies in front of this node: a request from one is counted against the client its
    /// `X-Forwarded-For` names (the nearest address that is not a trusted proxy), and the proxy's own connections
    /// are not held to one client's share.
    public var trustedProxies: [String] = []
    /// Connections one client (an address; an IPv6 /64) may hold open; past it new ones are closed at once.
    public var maxConnectionsPerClient = 256
    /// Connections the gateway holds open in all; 0: the open-file limit less 256 kept for databases, workers
    /// and new clients.
    public var maxConnections = 0
    /// How long SIGTERM/SIGINT waits for calls in flight before stopping the workers.
    public var drainTimeoutS = 10
    /// A connection with no request in progress (or stalled halfway through sending one) closes after this long
    /// without traffic.
    public var idleTimeoutS = 60
    /// Live streams (`GET /v1/apps/{app}/stream`) open at once on the node, and per person per app.
    public var maxStreams = 256
    public var maxStreamsPerPerson = 4
    /// Live streams one client address (an IPv6 /64) may hold open, whoever signed them (keys cost nothing).
    public var maxStreamsPerClient = 16
    /// Notices waiting for one stream's client, at most (bytes; also at most 256 notices); a client that falls
    /// this far behind is cut off.
    public var streamQueueKB = 256
    /// A stream with nothing to say sends a comment line this often, so proxies keep it and dead clients show.
    public var streamPingS = 15

    public init() {}

    /// `host:port` as a `Host` header or URL carries it, bracketing an IPv6 address (`[::1]:7420`).
    public static func authority(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The `listen` address split into host and port.
    public var hostAndPort: (host: String, port: Int)? { Self.split(listen) }

    /// `host:port` (a bracketed IPv6 host loses its brackets) split in two; nil without a port in 0...65535 or a host.
    public static func split(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    static let keys = ["listen", "names", "tls_names", "trusted_proxies", "max_body_kb", "request_timeout_ms", "retry_after_s", "signature_window_s",
                       "signature_future_s", "replay_cache_entries", "replay_entries_per_client", "drain_timeout_s",
                       "idle_timeout_s", "max_connections_per_client", "max_connections", "max_streams",
                       "max_streams_per_person", "max_streams_per_client", "stream_queue_kb", "stream_ping_s"]

    /// A host or host:port as a `Host` header carries it: letters, digits, `.-_:[]`, 1 to 255 bytes.
    /// Whether `text` is an IPv4 or IPv6 address, written as `inet_pton` reads it.
    public static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    static func isName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || ".-_:[]".unicodeScalars.contains($0)
        }
    }

    static func parse(_ table: TableReader) throws(ConfigError) -> GatewaySettings {
        var g = GatewaySettings()
        if let listen = try table.string("listen") {
            g.listen = listen
            guard g.hostAndPort != nil else {
                throw table.error(.badValue, "listen", "gateway.listen must be host:port, e.g. \"127.0.0.1:7420\", got \"\(listen)\"")
            }
        }
        g.maxBodyKB = try table.integer("max_body_kb", in: 1...1_048_576) ?? g.maxBodyKB
        g.requestTimeoutMs = try table.integer("request_timeout_ms", in: 10...3_600_000) ?? g.requestTimeoutMs
        g.retryAfterS = try table.integer("retry_after_s", in: 1...3600) ?? g.retryAfterS
        g.signatureWindowS = try table.integer("signature_window_s", in: 1...3600) ?? g.signatureWindowS
        g.signatureFutureS = try table.integer("signature_future_s", in: 0...3600) ?? g.signatureFutureS
        g.replayCacheEntries = try table.integer("replay_cache_entries", in: 1000...100_000_000) ?? g.replayCacheEntries
        g.replayEntriesPerClient = try table.integer("replay_entries_per_client", in: 10...100_000_000)
        if let names = try table.strings("names") {
            for (index, name) in names.enumerated() where !Self.isName(name) {
                throw table.error(.badValue, "names", element: index,
                                  "gateway.names entries are host or host:port (e.g. \"guild.example\" or \"192.168.1.20:7420\"), got \"\(name)\"")
            }
            g.names = names.map { $0.lowercased() }
        }
        if let names = try table.strings("tls_names") {
            for (index, name) in names.enumerated() where !Self.isName(name) {
                throw table.error(.badValue, "tls_names", element: index,
                                  "gateway.tls_names entries are host or host:port, the name a TLS proxy in front of this node serves (e.g. \"guild.example\"), got \"\(name)\"")
            }
            g.tlsNames = names.map { $0.lowercased() }
        }
        if let proxies = try table.strings("trusted_proxies") {
            for (index, address) in proxies.enumerated() where !Self.isIPAddress(address) {
                throw table.error(.badValue, "trusted_proxies", element: index,
                                  "gateway.trusted_proxies entries are IP addresses of the proxies in front of this node (e.g. \"127.0.0.1\"), got \"\(address)\"")
            }
            g.trustedProxies = proxies
        }
        g.drainTimeoutS = try table.integer("drain_timeout_s", in: 0...3600) ?? g.drainTimeoutS
        g.idleTimeoutS = try table.integer("idle_timeout_s", in: 1...3600) ?? g.idleTimeoutS
        g.maxConnectionsPerClient = try table.integer("max_connections_per_client", in: 1...1_000_000) ?? g.maxConnectionsPerClient
        g.maxConnections = try table.integer("max_connections", in: 0...10_000_000) ?? g.maxConnections
        g.maxStreams = try table.integer("max_streams", in: 0...1_000_000) ?? g.maxStreams
        g.maxStreamsPerPerson = try table.integer("max_streams_per_person", in: 1...1000) ?? g.maxStreamsPerPerson
        g.maxStreamsPerClient = try table.integer("max_streams_per_client", in: 1...1_000_000) ?? g.maxStreamsPerClient
        g.streamQueueKB = try table.integer("stream_queue_kb", in: 64...65_536) ?? g.streamQueueKB
        g.streamPingS = try table.integer("stream_ping_s", in: 1...3600) ?? g.streamPingS
        return g
    }
}
