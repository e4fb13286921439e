import Synchronization

/// What other threads learn about a worker without waiting for its call lock: an interruption asked for (the
/// call in flight then fails with it), and once the worker is reaped, its death and total CPU time.
final class WorkerFate: Sendable {
    private struct State {
        var interruption: WorkerDeath?
        var death: WorkerDeath?
        var cpuNs: Int64?
    }

    private let state = Mutex(State())

    var interruption: WorkerDeath? { state.withLock { $0.interruption } }
    var death: WorkerDeath? { state.withLock { $0.death } }
    /// The whole worker's CPU time, once reaped.
    var finalCPUNs: Int64? { state.withLock { $0.cpuNs } }

    func interrupt(_ death: WorkerDeath) { state.withLock { $0.interruption = death } }

    /// The worker is reaped: its total CPU time.
    func reaped(cpuNs: Int64) { state.withLock { $0.cpuNs = cpuNs } }

    /// How the worker died, once classified.
    func died(_ death: WorkerDeath) { state.withLock { $0.death = death } }
}
