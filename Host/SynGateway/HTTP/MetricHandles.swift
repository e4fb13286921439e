import CoreMetrics
import Metrics
import Prometheus
import Synchronization

/// Metric handles by name and labels, made on first use.
final class MetricHandles: Sendable {
    private let factory: PrometheusMetricsFactory
    private struct Handles {
        var counters: [[String]: CoreMetrics.Counter] = [:]
        var timers: [[String]: Metrics.Timer] = [:]
    }

    private let handles = Mutex(Handles())

    init(factory: PrometheusMetricsFactory) { self.factory = factory }

    private static func key(_ label: String, _ dimensions: [(String, String)]) -> [String] {
        var key = [label]
        for (name, value) in dimensions { key.append(name); key.append(value) }
        return key
    }

    func counter(_ label: String, _ dimensions: [(String, String)]) -> CoreMetrics.Counter {
        handle(\.counters, label, dimensions) { CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory) }
    }

    func timer(_ label: String, _ dimensions: [(String, String)]) -> Metrics.Timer {
        handle(\.timers, label, dimensions) { Metrics.Timer(label: label, dimensions: dimensions, factory: factory) }
    }

    /// The cached handle for `label` and `dimensions` in `cache`, made by `make` on first use.
    private func handle<H: Sendable>(_ cache: WritableKeyPath<Handles, [[String]: H]>, _ label: String,
                           _ dimensions: [(String, String)], make: () -> H) -> H {
        let key = Self.key(label, dimensions)
        return handles.withLock { h in
            if let existing = h[keyPath: cache][key] { return existing }
            let made = make()
            h[keyPath: cache][key] = made
            return made
        }
    }
}
