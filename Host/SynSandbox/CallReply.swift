/// The app's answer to one call.
public struct CallReply: Sendable, Equatable {
    /// The `syn_status` the app's `handle` (or `init`, `on_event`) returned.
    public let status: Int32
    /// The HTTP-like status of the response (0 when `status` is not SYN_OK).
    public let httpStatus: UInt32
    /// The response body, or the error message when `status` is not SYN_OK.
    public let body: [UInt8]
}

/// What the library reported about itself when it was loaded.
public struct LoadedAppInfo: Sendable, Equatable {
    public let appID: String
    public let version: String
    public let abiMinor: UInt32
}
