/// A failure to prepare or start a worker (before any app code ran).
public struct SandboxError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The worker executable, library or a cgroup could not be opened or created.
        case spawn
        /// The sandbox could not be built inside the worker (namespaces, mounts, seccomp).
        case setup
        /// The library was refused (magic, ABI major, app id, missing symbols, init failed).
        case load
        /// The app's `init` was denied a capability it needs (the message names the key that grants it).
        case denied
        /// The app is marked failed after repeated deaths, or is stopped.
        case unavailable
        /// Every worker is busy and the queue is full.
        case busy
    }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code.rawValue): \(message)" }
}
