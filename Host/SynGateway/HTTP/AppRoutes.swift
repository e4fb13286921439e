import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import SynBroker
import SynConfig
import SynSandbox

/// `GET /v1/apps`, `GET /v1/health` and `GET /metrics` (app calls are served by `AppCallHandler`).
struct AppRoutes: Sendable {
    let runtime: NodeRuntime
    let metrics: GatewayMetrics

    func add(to router: Router<GatewayContext>) {
        router.get("/v1/apps") { _, context in list(context) }
        router.get("/v1/health") { _, context in health(context) }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
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
    /// A node whose audit log cannot be written, or whose disk is below its reserve, is failing (503), and says why.
    private func health(_ context: GatewayContext) -> Response {
        if let refusal = runtime.auditRefusal() {
            return GatewayJSON.response(.serviceUnavailable, ["status": "failing", "audit": refusal, "request_id": context.requestID])
        }
        if let refusal = runtime.diskRefusal {
            return GatewayJSON.response(.serviceUnavailable, ["status": "failing", "disk": refusal, "request_id": context.requestID])
        }
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: #"{"request_id":""# + context.requestID + #"","status":"ok"}"#)))
    }
}
