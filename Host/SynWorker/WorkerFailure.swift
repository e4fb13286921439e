/// A failure while building the sandbox or loading the app; reported to the host as a `fatal` frame.
struct WorkerFailure: Error {
    /// `setupFailed` for sandbox construction, `loadRefused` for the library.
    let op: FatalOp
    let message: String

    static func setup(_ message: String, errno e: Int32 = 0) -> WorkerFailure {
        WorkerFailure(op: .setupFailed, message: e == 0 ? message : "\(message): errno \(e)")
    }
    static func load(_ message: String) -> WorkerFailure { WorkerFailure(op: .loadRefused, message: message) }
}

import SynWire
