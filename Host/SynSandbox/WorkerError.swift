/// Why a worker could not start or a call did not complete.
public enum WorkerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The worker died (or was killed); the death is classified.
    case died(WorkerDeath)
    /// The worker could not be started or its library was refused; no app code is at fault for the host.
    case refused(SandboxError)

    public var description: String {
        switch self {
        case .died(let death): "worker died: \(death)"
        case .refused(let error): "refused: \(error)"
        }
    }
}
