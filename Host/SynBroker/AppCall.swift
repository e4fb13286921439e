/// One app's call to another app's method on this node (`app_call`, ABI minor 1), as the broker hands it to the
/// node that runs the target.
public struct AppCall: Sendable {
    /// The target app and method.
    public let app: String
    public let method: String
    /// Who the target sees calling: the calling app's key, or the person who signed the call.
    public let caller: [UInt8]
    public let body: [UInt8]
    /// The apps the call came through, first caller first; the last made this call.
    public let via: [String]
    /// When the target must have answered (monotonic nanoseconds): the calling call's deadline less a margin.
    public let deadlineNs: Int64
    /// The calling call's request tag, for logs and audit entries.
    public let tag: String
}

/// How an app call ended: the target's answer, or why it did not run or did not answer (a `syn_status`).
public enum AppCallOutcome: Sendable {
    case answered(status: Int32, httpStatus: UInt32, body: [UInt8])
    case failed(status: Int32, message: String)
}
