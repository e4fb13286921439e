import CoreMetrics
import Metrics
public import Prometheus

/// The gateway's Prometheus registry and the metrics recorded into it, made with an explicit factory so several
/// gateways (tests) can live in one process without `MetricsSystem.bootstrap`.
///
/// Handles are made once per label set and kept (`MetricHandles`): making one validates its name and labels and
/// looks it up in the registry, which cost more than the rest of a request's bookkeeping. Every label value is
/// bounded (routes are the router's templates, methods are folded to the standard ones), so the cache is too.
public struct GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let handles: MetricHandles

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100),
            .milliseconds(500), .seconds(2), .seconds(10),
        ]
        handles = MetricHandles(factory: factory)
    }

    /// The request methods counted by name; any other is counted as `other`.
    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// One finished request: counted by route, method and status, timed by route.
    func requestFinished(route: String, method: String, status: Int, duration: Duration) {
        let method = Self.knownMethods.contains(method) ? method : "other"
        handles.counter("syneroym_http_requests_total",
                        [("route", route), ("method", method), ("status", String(status))]).increment()
        handles.timer("syneroym_http_request_duration_seconds", [("route", route)]).record(duration: duration)
    }

    /// One app call through the gateway, by app and outcome (`ok`, `app_error`, `busy`, `died`, `timeout`, ...).
    func appCall(app: String, outcome: String) {
        handles.counter("syneroym_app_calls_total", [("app", app), ("outcome", outcome)]).increment()
    }

    /// Requests refused for their signature, by reason.
    func signatureRejected(_ reason: String) {
        handles.counter("syneroym_signature_rejections_total", [("reason", reason)]).increment()
    }

    /// A link event (`link.up`, `link.down`, `link.refused`, `link.flood`, `link.violation`, `witness.evidence`).
    public func linkEvent(_ event: String) {
        let known: Set<String> = ["link.up", "link.down", "link.refused", "link.flood", "link.violation", "witness.evidence"]
        handles.counter("syneroym_link_events_total", [("event", known.contains(event) ? event : "other")]).increment()
    }

    /// A client stream opened, or ended (`too_slow`, `app_stopped`, `node_stopping`, `closed`).
    func streamOpened() { handles.counter("syneroym_streams_opened_total", []).increment() }
    func streamEnded(_ reason: String) {
        handles.counter("syneroym_streams_ended_total", [("reason", reason)]).increment()
    }

    /// The Prometheus text exposition.
    func render() -> String { registry.emitToString() }
}
