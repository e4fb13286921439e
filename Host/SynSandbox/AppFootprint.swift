/// What one app has used and suffered since the node started.
public struct AppFootprint: Sendable, Equatable {
    public var calls = 0
    /// Calls that failed on the app's side (server errors): an error `syn_status`, an HTTP status of 500 or more,
    /// or the worker's death during the call.
    public var errors = 0
    /// Calls the app answered with an HTTP status from 400 to 499 (client errors: bad input, not found, ...).
    public var clientErrors = 0
    public var wallMs = 0.0
    /// CPU time of the app's workers (live ones sampled, dead ones from their final resource usage).
    public var cpuMs = 0.0
    /// Deaths by classified outcome (`crash`, `timeout`, ...).
    public var deaths: [String: Int] = [:]
    /// Filled in by the broker.
    public var storageBytes: Int64 = 0
    public var eventsEmitted = 0
    public var denials = 0

    public init() {}

    /// This footprint and `other`'s together (an app's earlier supervisors, replaced by `apps restart`).
    public func adding(_ other: AppFootprint) -> AppFootprint {
        var sum = self
        sum.calls += other.calls
        sum.errors += other.errors
        sum.clientErrors += other.clientErrors
        sum.wallMs += other.wallMs
        sum.cpuMs += other.cpuMs
        sum.deaths.merge(other.deaths, uniquingKeysWith: +)
        return sum
    }
}
