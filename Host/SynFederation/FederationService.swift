import SynConfig
public import Logging
public import ServiceLifecycle

/// The node's links as a ServiceLifecycle service: started with the node, stopped first on a graceful shutdown.
public struct FederationService: Service {
    let links: LinkService
    let logger: Logger
    /// Told `host:port` once the node accepts links.
    let onListening: @Sendable (String) -> Void

    public init(links: LinkService, logger: Logger, onListening: @escaping @Sendable (String) -> Void = { _ in }) {
        self.links = links
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        do {
            let port = try await links.start()
            if let port, let host = links.settings.hostAndPort?.host {
                onListening(GatewaySettings.authority(host: host, port: port))
                logger.notice("links listening", metadata: ["address": "\(host):\(port)", "peers": "\(links.peers.count)"])
            } else if links.peers.count > 0 {
                logger.notice("links: not listening (node.toml [federation] listen); dialling the added peers",
                              metadata: ["peers": "\(links.peers.count)"])
            } else {
                logger.info("links: none (no [federation] listen and no peers; `syneroym peers add` links this node)")
            }
        } catch {
            // The node serves without links rather than not at all; the owner sees why.
            logger.error("links not started", metadata: ["error": "\(error.message)"])
        }
        try? await gracefulShutdown()
        await links.stop()
    }
}
