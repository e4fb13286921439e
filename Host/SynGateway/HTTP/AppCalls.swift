import Foundation
import HTTPTypes
import NIOCore
import SynBroker
import SynConfig
import SynRuntime
import SynSandbox
import SynText
import SynWire

/// `POST /v1/apps/{app}/{method}` without the transport: the checks before a call, the call, and the answer.
/// `AppCallHandler` serves it on the connection's event loop.
struct AppCalls: Sendable {
    let runtime: NodeRuntime
    let settings: GatewaySettings
    let signatures: SignatureCheck
    let metrics: GatewayMetrics

    /// The route's template, as the request metrics label it.
    static let route = "/v1/apps/{app}/{method}"

    /// The app and method a request calls, when it is a `POST` to the route: its path (without the query) is
    /// `/v1/apps/` and two non-empty segments, an empty segment being skipped as the router skips it.
    static func target(of request: HTTPRequest) -> (app: String, method: String)? {
        guard request.method == .post, let full = request.path else { return nil }
        let path = full.utf8.prefix { $0 != UInt8(ascii: "?") }
        let segments = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
        guard segments.count == 4, segments[0].elementsEqual("v1".utf8), segments[1].elementsEqual("apps".utf8) else {
            return nil
        }
        return (String(decoding: segments[2], as: UTF8.self), String(decoding: segments[3], as: UTF8.self))
    }

    /// Authenticates the request and calls the app; `complete` runs once with the answer or the error to send,
    /// on whatever thread finishes the call. The checks run in this order: one `Host` header (400), a known app
    /// (404), signature (401), method name and JSON body (400), then the node's own (public method, app state,
    /// queue).
    func call(_ request: HTTPRequest, app: String, method: String, body: [UInt8], requestID: String,
              client: SocketAddress?, settlement: CallSettlement,
              complete: @escaping @Sendable (Result<AppAnswer, APIError>) -> Void) {
        let caller: [UInt8]
        do throws(APIError) {
            if let problem = HostHeader.problem(request) { throw problem }
            // A signature is checked (and remembered against replay) only for a call that reaches a real app.
            guard runtime.hasApp(app) else {
                throw APIError(.notFound, "unknown_app", "no app '\(app)' on this node (GET /v1/apps lists them)")
            }
            caller = try signatures.caller(of: request, body: body, client: client)
            guard NameRules.isMethodName(method) else {
                throw APIError(.badRequest, "bad_method", "method names match ^[a-z][a-z0-9_.-]{0,127}$")
            }
            guard body.isEmpty || JSONScan.isJSON(body) else {
                throw APIError(.badRequest, "bad_json", "the request body must be JSON")
            }
        } catch {
            if settlement.settle() { complete(.failure(error)) }
            return
        }
        runtime.submit(app: app, method: method, caller: caller, body: body, tag: requestID) { [self] result in
            // After the gateway's 504 the answer is neither sent nor counted.
            guard settlement.settle() else { return }
            switch result {
            case .success(let reply):
                do throws(APIError) { complete(.success(try answer(reply, app: app, requestID: requestID))) } catch {
                    complete(.failure(error))
                }
            case .failure(let failure): complete(.failure(self.failure(failure, app: app)))
            }
        }
    }

    /// No answer within node.toml `[gateway] request_timeout_ms`; the call itself may still finish.
    func timedOut(app: String) -> APIError {
        metrics.appCall(app: app, outcome: "timeout")
        return APIError(.gatewayTimeout, "gateway_timeout",
                        "no answer from '\(app)' within \(settings.requestTimeoutMs) ms (node.toml [gateway] request_timeout_ms)")
    }

    /// The app's own answer: its status and body, or its `syn_status` failure as a JSON error.
    private func answer(_ reply: CallReply, app: String, requestID: String) throws(APIError) -> AppAnswer {
        guard reply.status == 0 else {
            metrics.appCall(app: app, outcome: "app_error")
            let (http, code) = Self.mapStatus(reply.status)
            throw APIError(http, code, String(decoding: reply.body.prefix(4096), as: UTF8.self))
        }
        // 1xx would announce another response to come; 204 and 304 must not carry a body.
        guard (200...599).contains(reply.httpStatus), reply.body.isEmpty || (reply.httpStatus != 204 && reply.httpStatus != 304) else {
            metrics.appCall(app: app, outcome: "bad_status")
            throw APIError(.badGateway, "bad_app_status", "the app answered with HTTP status \(reply.httpStatus)"
                           + (reply.body.isEmpty ? "" : " and a \(reply.body.count)-byte body"))
        }
        metrics.appCall(app: app, outcome: "ok")
        let isJSON = JSONScan.isJSON(reply.body)
        let type = isJSON ? "application/json"
            : (String(validating: reply.body, as: UTF8.self) != nil ? "text/plain; charset=utf-8" : "application/octet-stream")
        let status = HTTPResponse.Status(code: Int(reply.httpStatus))
        if reply.httpStatus >= 400, isJSON, let error = Self.withRequestID(reply.body, requestID) {
            return AppAnswer(status: status, headers: [:], json: error)
        }
        return AppAnswer(status: status, headers: [.contentType: type], body: reply.body)
    }

    /// An app's JSON error (`{"error": {...}}`) with the request id added, as the gateway's own errors carry it;
    /// nil for any other body, which passes through unchanged.
    static func withRequestID(_ body: [UInt8], _ requestID: String) -> [String: Any]? {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
              object["error"] is [String: Any], object["request_id"] == nil else { return nil }
        object["request_id"] = requestID
        return object
    }

    /// Why the call failed, as the gateway's answer: 503 busy or unavailable, 504 timeouts, 502 a dead worker.
    private func failure(_ error: NodeRuntime.CallFailure, app: String) -> APIError {
        switch error {
        case .unknownApp(let id):
            return APIError(.notFound, "unknown_app", "no app '\(id)' on this node (GET /v1/apps lists them)")
        case .notPublic(let id, let method):
            return APIError(.unauthorized, "signature_required",
                            "\(id).\(method) is not public (its manifest's [methods] public); sign the request (docs/request-signing.md)",
                            headers: [.wwwAuthenticate: #"Signature realm="syneroym", alg="ed25519""#])
        case .moved(let id, let node):
            metrics.appCall(app: app, outcome: "unavailable")
            return APIError(.gone, "app_moved", "app '\(id)' has moved to node \(node); call it there (its owner gives its address)",
                            headers: [.movedTo: node])
        case .moving(let id, let node):
            metrics.appCall(app: app, outcome: "unavailable")
            return APIError(.serviceUnavailable, "app_moving", "app '\(id)' is moving to node \(node); try again in a minute, here or there",
                            headers: [.retryAfter: "60", .movingTo: node])
        case .insufficientStorage(let why):
            metrics.appCall(app: app, outcome: "unavailable")
            return APIError(.init(code: 507), "insufficient_storage", why, headers: [.retryAfter: String(settings.retryAfterS)])
        case .auditUnavailable(let why):
            metrics.appCall(app: app, outcome: "unavailable")
            return APIError(.serviceUnavailable, "audit_unavailable", why, headers: [.retryAfter: String(settings.retryAfterS)])
        case .notRunning(_, let state, let why):
            metrics.appCall(app: app, outcome: "unavailable")
            return APIError(.serviceUnavailable, state == "disabled" ? "app_disabled" : "app_unavailable",
                            "app '\(app)' is \(state)" + (why.map { ": \($0)" } ?? ""),
                            headers: [.retryAfter: String(settings.retryAfterS)])
        case .call(let callError):
            switch callError.code {
            case .busy:
                metrics.appCall(app: app, outcome: "busy")
                return APIError(.serviceUnavailable, "app_busy", callError.message, headers: [.retryAfter: String(settings.retryAfterS)])
            case .tooLarge:
                metrics.appCall(app: app, outcome: "too_large")
                return APIError(.contentTooLarge, "too_large", callError.message)
            case .unavailable:
                metrics.appCall(app: app, outcome: "unavailable")
                return APIError(.serviceUnavailable, "app_unavailable", callError.message, headers: [.retryAfter: String(settings.retryAfterS)])
            case .workerDied:
                let death = callError.death
                if death?.outcome == .timeout {
                    metrics.appCall(app: app, outcome: "timeout")
                    return APIError(.gatewayTimeout, "call_timeout", death?.detail ?? callError.message)
                }
                metrics.appCall(app: app, outcome: "died")
                let outcome = death?.outcome.rawValue ?? "unknown"
                return APIError(.badGateway, "worker_died", "the app's worker died mid-call (\(outcome)): \(death?.detail ?? callError.message)")
            }
        }
    }

    /// `syn_status` → HTTP status and error code.
    static func mapStatus(_ status: Int32) -> (HTTPResponse.Status, String) {
        switch status {
        case SynStatus.notFound: (.notFound, "app_not_found")
        case SynStatus.badArg: (.badRequest, "bad_argument")
        case SynStatus.denied: (.forbidden, "denied")
        case SynStatus.quota: (HTTPResponse.Status(code: 507), "quota")
        case SynStatus.timeout: (.gatewayTimeout, "app_timeout")
        case SynStatus.unsupported: (.notImplemented, "unsupported")
        case SynStatus.conflict: (.conflict, "conflict")
        case SynStatus.tooLarge: (.contentTooLarge, "too_large")
        default: (.internalServerError, "app_error")
        }
    }
}
