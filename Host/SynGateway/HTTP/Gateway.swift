public import Hummingbird
public import Logging
import NIOCore
import SynConfig
public import SynFederation
public import SynWeb
public import SynMigration
public import SynRuntime
#if canImport(Glibc)
import Glibc
#endif

/// The HTTP gateway: the router over a `NodeRuntime`, served by Hummingbird as a ServiceLifecycle service.
public enum Gateway {
    /// The `Server` header of every response.
    static let serverName = "syneroym"

    /// Connections the gateway keeps open at most when node.toml does not say: the open-file limit less 256 for
    /// the databases, the workers' links and room to accept (and turn away) new clients; at least 64.
    static func automaticConnectionLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 768 }
        return max(64, Int(clamping: limit.rlim_cur) - 256)
    }

    /// The router: request ids and JSON errors outermost, then the app list, admin, health and metrics routes.
    /// App calls do not reach it (`AppCallHandler`).
    static func router(runtime: NodeRuntime, signatures: SignatureCheck, metrics: GatewayMetrics, logger: Logger,
                       links: LinkService?, migrations: Migrations? = nil,
                       web: Result<WebAssets, WebError> = WebAssets.bundled) -> Router<GatewayContext>
    {
        let router = Router(context: GatewayContext.self)
        // Middleware wraps only the routes added after it.
        router.add(middleware: RequestIDMiddleware(metrics: metrics, logger: logger))
        AppRoutes(runtime: runtime, metrics: metrics, signatures: signatures).add(to: router)
        StreamRoutes(runtime: runtime, metrics: metrics, signatures: signatures).add(to: router)
        AdminRoutes(runtime: runtime, signatures: signatures).add(to: router)
        PackageRoutes(runtime: runtime, signatures: signatures).add(to: router)
        BackupRoutes(runtime: runtime, signatures: signatures).add(to: router)
        if let links { PeerRoutes(runtime: runtime, links: links, signatures: signatures).add(to: router) }
        if let migrations { MigrationRoutes(runtime: runtime, migrations: migrations, signatures: signatures).add(to: router) }
        WebRoutes(assets: web).add(to: router)
        return router
    }

    /// The Hummingbird application listening on `[gateway] listen` (or `address`, for tests on port 0).
    /// `onServerRunning` receives the bound port.
    public static func application(runtime: NodeRuntime, metrics: GatewayMetrics, logger: Logger,
                                   address: (host: String, port: Int)? = nil, links: LinkService? = nil, migrations: Migrations? = nil,
                                   onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol
    {
        let settings = runtime.config.gateway
        let listen = address ?? settings.hostAndPort ?? ("127.0.0.1", 7420)
        // One replay cache for every signed request, app calls and admin alike.
        let signatures = SignatureCheck(settings: settings, owners: runtime.config.owners, metrics: metrics)
        let calls = AppCalls(runtime: runtime, settings: settings, signatures: signatures, metrics: metrics)
        let connections = ConnectionCounter(perClient: settings.maxConnectionsPerClient,
                                            total: settings.maxConnections > 0 ? settings.maxConnections : Self.automaticConnectionLimit(),
                                            proxies: signatures.trustedProxies)
        return Application(
            router: router(runtime: runtime, signatures: signatures, metrics: metrics, logger: logger, links: links, migrations: migrations),
            // The handler keeps the idle timeout itself: Hummingbird's connection-state handler, after it in the
            // pipeline, does not see app calls.
            server: .http1(configuration: .init(additionalChannelHandlers: [
                ConnectionLimitHandler(counter: connections),
                AppCallHandler(calls: calls, logger: logger, idleTimeout: .seconds(Int64(settings.idleTimeoutS))),
            ])),
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: serverName,
                                 backlog: 1024),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? -1
                signatures.authorities.bind(host: listen.host, port: port)
                await onServerRunning(port)
            },
            logger: logger)
    }
}
