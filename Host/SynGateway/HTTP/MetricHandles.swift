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
        let key = Self.key(label, dimensions)
        return lock.withLock {
            if let c = counters[key] { return c }
            let c = CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory)
            counters[key] = c
            return c
        }
    }

    func timer(_ label: String, _ dimensions: [(String, String)]) -> Metrics.Timer {
        let key = Self.key(label, dimensions)
        return lock.withLock {
            if let t = timers[key] { return t }
            let t = Metrics.Timer(label: label, dimensions: dimensions, factory: factory)
            timers[key] = t
            return t
        }
    }
}
