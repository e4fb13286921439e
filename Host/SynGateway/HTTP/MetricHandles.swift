import CoreMetrics
import Metrics
import Prometheus
import SynSandbox

/// Metric handles by name and labels, made on first use.
final class MetricHandles: @unchecked Sendable {
    private let factory: PrometheusMetricsFactory
    private let lock = Mutex()
    private var counters: [[String]: CoreMetrics.Counter] = [:]
    private var timers: [[String]: Metrics.Timer] = [:]

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
    private func handle<H>(_ cache: ReferenceWritableKeyPath<MetricHandles, [[String]: H]>, _ label: String,
                           _ dimensions: [(String, String)], make: () -> H) -> H {
        let key = Self.key(label, dimensions)
        return lock.withLock {
            if let h = self[keyPath: cache][key] { return h }
            let h = make()
            self[keyPath: cache][key] = h
            return h
        }
    }
}
