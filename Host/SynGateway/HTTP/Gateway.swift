public import Hummingbird
public import Logging
import NIOCore
import SynConfig

/// The HTTP gateway: the router over a `NodeRuntime`, served by Hummingbird as a ServiceLifecycle service.
public enum Gateway {
    /// The router: request ids and JSON errors outermost, then the app, admin, health and metrics routes.
    public static func router(runtime: NodeRuntime, metrics: GatewayMetrics) -> Router<GatewayContext> {
        let settings = runtime.config.gateway
        let signatures = SignatureCheck(windowSeconds: settings.signatureWindowS, replayEntries: settings.replayCacheEntries,
                                        metrics: metrics)
        let router = Router(context: GatewayContext.self)
        // Middleware wraps only the routes added after it.
        router.add(middleware: RequestIDMiddleware(metrics: metrics))
        AppRoutes(runtime: runtime, settings: settings, signatures: signatures, metrics: metrics).add(to: router)
        AdminRoutes(runtime: runtime, signatures: signatures).add(to: router)
        return router
    }

    /// The Hummingbird application listening on `[gateway] listen` (or `address`, for tests on port 0).
    /// `onServerRunning` receives the bound port.
    public static func application(runtime: NodeRuntime, metrics: GatewayMetrics, logger: Logger,
                                   address: (host: String, port: Int)? = nil,
                                   onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol
    {
        let listen = address ?? runtime.config.gateway.hostAndPort ?? ("127.0.0.1", 7420)
        return Application(
            router: router(runtime: runtime, metrics: metrics),
            server: .http1(configuration: .init(idleTimeout: .seconds(60))),
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "syneroym",
                                 backlog: 1024),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? -1) },
            logger: logger)
    }
}
