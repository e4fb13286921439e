import CoreMetrics
import Metrics
public import Prometheus

/// The gateway's Prometheus registry and the metrics recorded into it, made with an explicit factory so several
/// gateways (tests) can live in one process without `MetricsSystem.bootstrap`.
public struct GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100),
            .milliseconds(500), .seconds(2), .seconds(10),
        ]
        self.factory = factory
    }

    /// One finished request: counted by route, method and status, timed by route.
    func requestFinished(route: String, method: String, status: Int, duration: Duration) {
        Counter(label: "syneroym_http_requests_total",
                dimensions: [("route", route), ("method", method), ("status", String(status))], factory: factory).increment()
        Metrics.Timer(label: "syneroym_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .record(duration: duration)
    }

    /// One app call through the gateway, by app and outcome (`ok`, `app_error`, `busy`, `died`, `timeout`, ...).
    func appCall(app: String, outcome: String) {
        Counter(label: "syneroym_app_calls_total", dimensions: [("app", app), ("outcome", outcome)], factory: factory).increment()
    }

    /// Requests refused for their signature, by reason.
    func signatureRejected(_ reason: String) {
        Counter(label: "syneroym_signature_rejections_total", dimensions: [("reason", reason)], factory: factory).increment()
    }

    /// The Prometheus text exposition.
    func render() -> String { registry.emitToString() }
}
