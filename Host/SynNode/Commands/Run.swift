import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SynBroker
import NIOCore
import NIOPosix
import SynConfig
import SynFederation
import SynFetch
import SynGateway
import SynMigration
import SynRuntime
import SynTLS
import UnixSignals

/// `syneroym run`: the node: every app in the manifests directory under its profile and grants, and the HTTP
/// gateway, until SIGTERM or SIGINT (which drain calls in flight, stop the workers and close the databases).
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the node: supervise every app in the manifests directory and serve the HTTP gateway.",
        discussion: "Writes <data>/node.toml on first start (see `syneroym init`). Exit status 0 after a graceful stop.")

    @OptionGroup var options: DataOption
    @Option(help: "Directory of app manifests (*.toml).") var manifests: String = "manifests"
    @Option(help: "Directory of sandbox profiles (*.toml).") var profiles: String = "sandbox-profiles"
    @Option(help: "Listen on host:port instead of node.toml [gateway] listen (port 0 picks a free one).") var listen: String?
    @Option(help: "Accept links from other nodes on host:port instead of node.toml [federation] listen.") var linksListen: String?
    @Option(help: "Log format: text or json.") var logFormat: LogFormat = .text
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"

    enum LogFormat: String, ExpressibleByArgument { case text, json }

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical") }
        if let listen {
            var settings = GatewaySettings()
            settings.listen = listen
            guard settings.hostAndPort != nil else { throw ValidationError("--listen must be host:port, e.g. 127.0.0.1:7420") }
        }
        if let linksListen, GatewaySettings.split(linksListen) == nil {
            throw ValidationError("--links-listen must be host:port, e.g. 127.0.0.1:7421")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let format = logFormat
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = format == .json ? JSONLogHandler(label: label) : TextLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "syneroym")
        Self.raiseOpenFileLimit(logger)
        // A file-size limit or a full file system fails a write (and the node fails closed); it never kills the node.
        signal(SIGXFSZ, SIG_IGN)
        let layout = NodeLayout(data: options.data, manifests: manifests, profiles: profiles,
                                libraryDirectories: [NodePaths.products], worker: NodePaths.worker)
        let runtime: NodeRuntime
        do { runtime = try NodeRuntime(layout: layout, logger: logger) } catch {
            logger.critical("cannot start the node", metadata: ["error": "\(error.message)"])
            throw ExitCode(2)
        }
        var settings = runtime.config.gateway
        if let listen { settings.listen = listen }
        let address = settings.hostAndPort
        let metrics = GatewayMetrics()
        let links: LinkService
        do { links = try Self.links(runtime: runtime, listen: linksListen, metrics: metrics, logger: logger) } catch {
            logger.critical("cannot start the node's links", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        }
        // Apps moving to and from peers; migrations a restart interrupted go on.
        let migrations = Migrations(runtime: runtime, links: links)
        let gateway = Gateway.application(runtime: runtime, metrics: metrics, logger: logger, address: address, links: links,
                                          migrations: migrations) { port in
            runtime.broker.directoryLock.record(address: GatewaySettings.authority(host: address?.host ?? "127.0.0.1", port: port))
            logger.notice("gateway listening", metadata: ["address": "\(address?.host ?? "127.0.0.1"):\(port)",
                                                          "apps": "\(runtime.apps().map(\.id).joined(separator: ","))"])
        }
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: NodeService(runtime: runtime)), .init(service: gateway), .init(service: FederationService(links: links, logger: logger) { runtime.broker.directoryLock.record(links: $0) }),
        ]
        var config = ServiceGroupConfiguration(
            // Shutdown runs in reverse: links close, the gateway stops taking requests, then the node drains and stops.
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        config.maximumGracefulShutdownDuration = .seconds(Int64(runtime.config.gateway.drainTimeoutS) + 30)
        do { try await ServiceGroup(configuration: config).run() } catch {
            logger.critical("the node failed", metadata: ["error": "\(error)"])
            runtime.shutdown(reason: "failure: \(error)", drainSeconds: 0)
            throw ExitCode(1)
        }
    }

    /// Every connection is a descriptor: take the soft limit up to the hard one (at most 1,048,576), so a
    /// thousand clients do not hit the usual 1024. Workers set their own, far lower, limit from their profile.
    static func raiseOpenFileLimit(_ logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let wanted = min(limit.rlim_max, 1 << 20)
        guard limit.rlim_cur < wanted else { return }
        limit.rlim_cur = wanted
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 {
            logger.warning("cannot raise the open-file limit", metadata: ["errno": "\(errno)"])
        }
    }

    /// The node's links with other nodes: it listens for them when node.toml `[federation] listen` says so, and
    /// dials the peers its owner added (`syneroym peers add`, now or later). A node on its own has none open.
    static func links(runtime: NodeRuntime, listen: String?, metrics: GatewayMetrics, logger: Logger) throws -> LinkService {
        var settings = runtime.config.federation
        if let listen { settings.listen = listen }
        let db = runtime.layout.data + "/node.db"
        let peers: PeerStore
        do { peers = try PeerStore(path: db) } catch { throw CLIError("error: \(error.message)") }
        let broker = runtime.broker
        let witnesses: WitnessStore
        do {
            witnesses = try WitnessStore(path: db)
        } catch { throw CLIError("error: \(error)") }
        let links = LinkService(key: broker.nodeKey, settings: settings, peers: peers, witnesses: witnesses,
                                group: MultiThreadedEventLoopGroup.singleton, pingInterval: .seconds(Int64(settings.pingSeconds)),
                                outbox: broker.events, inbox: runtime, topics: runtime,
                                head: { broker.audit.head() },
                                audit: { action, peer, cause in
                                    metrics.linkEvent(action)
                                    logger.notice("link", metadata: ["event": "\(action)", "peer": "\(peer)", "detail": "\(cause)"])
                                    broker.audit.append(actor: "node", app: "", action: action, decision: "ok", cause: "peer \(peer): \(cause)")
                                })
        links.logger = logger
        runtime.onAppsChanged = { links.refreshSubscriptions() }
        // net_send reaches the added peers; what a call commits for them goes out on their links.
        broker.isPeer = { peers.contains($0) }
        broker.onNetCommit = { links.messagesCommitted(for: $0) }
        // net_request: the node's HTTP client, made on the first request.
        let fetcher = NodeFetcher(settings: runtime.config.fetch, group: MultiThreadedEventLoopGroup.singleton)
        broker.fetcher = { fetcher.run($0) }
        // msg_publish: the local subscribers, and the peers whose apps subscribed to the topic.
        broker.onPublish = { app, topic, payload in
            runtime.deliverPublished(topic: topic, payload: payload, app: app, from: nil)
            links.publish(app: app, topic: topic, payload: payload)
        }
        return links
    }
}
