/// A line an app logged through the `log` slot, with the call it came from.
public struct AppLogLine: Sendable, Equatable {
    public let app: String
    /// `SYN_LOG_*` (0 trace … 4 error).
    public let level: Int32
    public let message: String
    /// The gateway's request id of the call that logged it; empty outside gateway calls.
    public let requestID: String

    public init(app: String, level: Int32, message: String, requestID: String = "") {
        self.app = app
        self.level = level
        self.message = message
        self.requestID = requestID
    }
}
