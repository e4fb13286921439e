/// How a call or a worker ended, as reported by `syneroym exec` and recorded in the audit log.
public enum Outcome: String, Sendable, Equatable, CaseIterable {
    case ok
    /// The app made a syscall its profile forbids. Detail: the syscall name.
    case seccompViolation = "seccomp_violation"
    /// The app died of a signal. Detail: the signal name (a Swift `fatalError` is SIGILL).
    case crash
    /// The cgroup's memory limit was hit (OOM kill).
    case memoryQuota = "memory_quota"
    /// The worker exhausted its CPU-seconds budget (RLIMIT_CPU).
    case cpuQuota = "cpu_quota"
    /// The host killed the worker after the call's deadline.
    case timeout
    /// The worker sent a malformed, oversized or unexpected frame, or could not be set up or loaded.
    case protocolViolation = "protocol_violation"
    /// The app process exited on its own. Detail: the exit code.
    case exit
    /// The app's `init` failed on a capability it is not granted. Detail: the denial, naming the key to set.
    case denied
}

/// Why a worker is gone: the classified outcome and a human-readable detail.
public struct WorkerDeath: Error, Sendable, Equatable, CustomStringConvertible {
    public let outcome: Outcome
    public let detail: String
    public init(_ outcome: Outcome, _ detail: String) {
        self.outcome = outcome
        self.detail = detail
    }
    public var description: String { "\(outcome.rawValue): \(detail)" }
}
