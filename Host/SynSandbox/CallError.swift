/// Why the supervisor could not complete a call.
public struct CallError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// Every instance is busy and the queue (profile key limits.queue_depth) is full. Retry later.
        case busy
        /// The app is stopped, or failed after repeated deaths.
        case unavailable
        /// The worker died while handling this call; `death` says why.
        case workerDied = "worker_died"
        /// The call is larger than the app's frame limit (profile key limits.max_frame_kb): refused before sending,
        /// since the worker would have to drop its link.
        case tooLarge = "too_large"
    }
    public let code: Code
    public let message: String
    public let death: WorkerDeath?

    public init(_ code: Code, _ message: String, death: WorkerDeath? = nil) {
        self.code = code
        self.message = message
        self.death = death
    }
    public var description: String { "\(code.rawValue): \(message)" }
}
