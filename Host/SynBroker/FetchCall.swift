/// One `net_request` as the broker hands it to the node's HTTP client, after checking the grant, the sizes and the
/// time: the client checks every URL it goes to (the first and each redirect) with `permit`.
public struct FetchCall: Sendable {
    public let app: String
    public let method: String
    public let url: String
    /// The app's headers as it sent them: a JSON object of strings (checked by the client).
    public let headersJSON: [UInt8]
    public let body: [UInt8]
    /// When the answer must be in (`CLOCK_MONOTONIC` nanoseconds): the app's timeout, inside the call's deadline.
    public let deadlineNs: Int64
    /// Why `url` is not granted to the app, or nil; and whether a grant names its host as an address (which may then
    /// be loopback or private).
    public let permit: @Sendable (_ url: String) -> (denial: String?, namesAddress: Bool)
}

/// What became of a `net_request`: the HTTP status and body, or the `syn_status` and why.
public enum FetchOutcome: Sendable {
    case response(status: Int, body: [UInt8])
    case failed(status: Int32, message: String)
}
