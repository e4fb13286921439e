/// What `GET /v1/apps` and `syneroym apps list` show of one app.
public struct AppStatus: Sendable, Equatable {
    public let id: String
    public let name: String
    public let version: String
    /// `running`, `starting`, `backoff`, `failed`, `stopped`, or `disabled`.
    public let state: String
    public let profile: String
    /// Methods anyone may call without signing.
    public let publicMethods: [String]
    /// Why the app failed or could not load, if it did.
    public let problem: String?
    /// Instances in the middle of a call.
    public var busyInstances = 0
}
