/// What happens to an app's workers, for logs and the audit log.
public enum SupervisorEvent: Sendable, Equatable {
    case started(app: String, instance: Int, pid: Int32)
    case died(app: String, instance: Int, death: WorkerDeath)
    case startFailed(app: String, instance: Int, reason: String)
    case restarting(app: String, instance: Int, delayMs: Int)
    case failed(app: String, reason: String)
    case stopped(app: String)
}
