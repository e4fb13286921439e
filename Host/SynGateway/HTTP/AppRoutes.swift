import Foundation
public import Hummingbird
import HTTPTypes
import NIOCore
import SynBroker
import SynConfig
import SynSandbox

/// `POST /v1/apps/{app}/{method}`, `GET /v1/apps`, `GET /v1/health` and `GET /metrics`.
struct AppRoutes: Sendable {
    let runtime: NodeRuntime
    let settings: GatewaySettings
    let signatures: SignatureCheck
    let metrics: GatewayMetrics

    func add(to router: Router<GatewayContext>) {
        router.post("/v1/apps/{app}/{method}") { request, context in try await call(request, context) }
        router.get("/v1/apps") { _, context in list(context) }
        router.get("/v1/health") { _, context in health(context) }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
    }

    /// Reads the body within the limit, authenticates, checks the method is callable, calls the app, and answers
    /// with its status and body, or with the JSON error for whatever stopped it.
    func call(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let app = try context.parameters.require("app"), method = try context.parameters.require("method")
        let body = try await Self.body(request, limit: settings.maxBodyKB * 1024)
        let caller = try signatures.caller(of: request, body: body)
        guard NameRules.isMethodName(method) else {
            throw APIError(.badRequest, "bad_method", "method names match ^[a-z][a-z0-9_.-]{0,127}$")
        }
        guard body.isEmpty || JSONScan.isJSON(body) else {
            throw APIError(.badRequest, "bad_json", "the request body must be JSON")
        }
        let reply: CallReply
        do throws(NodeRuntime.CallFailure) {
            reply = try await runtime.call(app: app, method: method, caller: caller, body: body, tag: context.requestID,
                                           timeoutMs: settings.requestTimeoutMs)
        } catch {
            throw failure(error, app: app)
        }
        return try answer(reply, app: app, context: context)
    }

    /// The app's own answer: its status and body, or its `syn_status` failure as a JSON error.
    private func answer(_ reply: CallReply, app: String, context: GatewayContext) throws(APIError) -> Response {
        guard reply.status == 0 else {
            metrics.appCall(app: app, outcome: "app_error")
            let (http, code) = Self.mapStatus(reply.status)
            throw APIError(http, code, String(decoding: reply.body.prefix(4096), as: UTF8.self))
        }
        guard (100...599).contains(reply.httpStatus) else {
            metrics.appCall(app: app, outcome: "bad_status")
            throw APIError(.badGateway, "bad_app_status", "the app answered with HTTP status \(reply.httpStatus)")
        }
        metrics.appCall(app: app, outcome: "ok")
        let isJSON = JSONScan.isJSON(reply.body)
        let type = isJSON ? "application/json"
            : (String(validating: reply.body, as: UTF8.self) != nil ? "text/plain; charset=utf-8" : "application/octet-stream")
        let status = HTTPResponse.Status(code: Int(reply.httpStatus))
        if reply.httpStatus >= 400, isJSON, let error = Self.withRequestID(reply.body, context.requestID) {
            return GatewayJSON.response(status, error)
        }
        return Response(status: status, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
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
        case .notRunning(_, let state, let why):
            metrics.appCall(app: app, outcome: "unavailable")
            return APIError(.serviceUnavailable, state == "disabled" ? "app_disabled" : "app_unavailable",
                            "app '\(app)' is \(state)" + (why.map { ": \($0)" } ?? ""),
                            headers: [.retryAfter: String(settings.retryAfterS)])
        case .timedOut(let ms):
            metrics.appCall(app: app, outcome: "timeout")
            return APIError(.gatewayTimeout, "gateway_timeout", "no answer from '\(app)' within \(ms) ms (node.toml [gateway] request_timeout_ms)")
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
        case -1: (.notFound, "app_not_found")
        case -2: (.badRequest, "bad_argument")
        case -3: (.forbidden, "denied")
        case -4: (HTTPResponse.Status(code: 507), "quota")
        case -5: (.gatewayTimeout, "app_timeout")
        case -6: (.notImplemented, "unsupported")
        case -7: (.conflict, "conflict")
        case -8: (.contentTooLarge, "too_large")
        default: (.internalServerError, "app_error")
        }
    }

    /// The request body, refused with 413 past `limit` (by Content-Length before reading, else while reading).
    static func body(_ request: Request, limit: Int) async throws -> [UInt8] {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError.bodyTooLarge(limit: limit)
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer: buffer)
        } catch is NIOTooManyBytesError {
            throw APIError.bodyTooLarge(limit: limit)
        }
    }

    private func list(_ context: GatewayContext) -> Response {
        let apps: [[String: Any]] = runtime.apps().map { a in
            ["id": a.id, "name": a.name, "version": a.version, "state": a.state, "public_methods": a.publicMethods]
        }
        return GatewayJSON.response(.ok, ["apps": apps, "request_id": context.requestID])
    }

    /// Built by hand: the request id is already limited to `[A-Za-z0-9._:-]`, so it needs no escaping.
    private func health(_ context: GatewayContext) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: #"{"request_id":""# + context.requestID + #"","status":"ok"}"#)))
    }
}
