import HTTPTypes
import NIOCore
import SynConfig

/// What `AppCallHandler` needs of the gateway to serve an app call: `AppCalls` in the node, a stand-in app in the
/// handler's own tests.
protocol AppCallService: Sendable {
    var settings: GatewaySettings { get }
    /// Checks and calls; `complete` runs once, on any thread, unless `settlement` was settled first (the timeout).
    func call(_ request: HTTPRequest, app: String, method: String, body: [UInt8], requestID: String,
              client: SocketAddress?, settlement: CallSettlement,
              complete: @escaping @Sendable (Result<AppAnswer, APIError>) -> Void)
    /// The answer when the app has not answered within `settings.requestTimeoutMs`.
    func timedOut(app: String) -> APIError
    /// Records a finished app call (metrics).
    func finished(status: Int, duration: Duration)
}

extension AppCalls: AppCallService {
    func finished(status: Int, duration: Duration) {
        metrics.requestFinished(route: Self.route, method: "POST", status: status, duration: duration)
    }
}
